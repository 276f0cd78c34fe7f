"""Model generation through the API (coordinators of the study only).

Configurations: list them, and create one (validated by the configuration page's form, with
the page's starting values for what a request leaves out; written by
``generation_config_create``, audited as on the page). Runs: list, detail with progress (``generation.selectors.run_progress``), start (``run_create``
then ``run_dispatch``, as the run page does after its estimate), stop and resume. Nothing
here ever carries an API key: configurations hold only the *name* of the environment
variable, and responses do not include it, nor the server URL (which may embed credentials)
or the prompt snapshot.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from readerstudy.core import roles
from readerstudy.core.api.forms import form_errors
from readerstudy.core.converters import INT32_MAX
from readerstudy.core.users import signed_in_user
from readerstudy.generation import selectors
from readerstudy.generation.api.filters import GenerationRunFilter
from readerstudy.generation.forms import (
    CONFIG_FIELDS,
    GenerationConfigForm,
    RunStartForm,
    config_initial,
)
from readerstudy.generation.keys import ConnectionSettingsError
from readerstudy.generation.models import GenerationConfig, GenerationItem, GenerationRun
from readerstudy.generation.services import (
    GenerationConflictError,
    generation_config_create,
    run_create,
    run_dispatch,
    run_resume,
    run_stop,
)
from readerstudy.studies.api.access import StudyScopedMixin

COORDINATOR_ONLY = {roles.COORDINATOR}


class GenerationConfigSerializer(serializers.ModelSerializer):
    """A configuration as the API shows it: never the key variable, server URL or prompts."""

    reader = serializers.CharField(source="reader.code", read_only=True)
    reader_label = serializers.CharField(source="reader.label", read_only=True)

    class Meta:
        model = GenerationConfig
        fields = [
            "id",
            "reader",
            "reader_label",
            "provider",
            "model",
            "inputs",
            "n_runs",
            "response_format",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class GenerationConfigCreateSerializer(serializers.ModelSerializer):
    """A new configuration: the configuration page's fields; what is left out takes the
    page's starting values (``config_initial``). ``reader`` names a model reader of the
    study without a configuration; without it, ``reader_code`` (and ``reader_label``) make a
    new model reader. Validated by the page's form (``GenerationConfigForm``)."""

    reader = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="Code of a model reader of the study that has no configuration yet.",
    )
    reader_code = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="Id of a new model reader."
    )
    reader_label = serializers.CharField(required=False, allow_blank=True, max_length=300)

    class Meta:
        model = GenerationConfig
        fields = ["reader", "reader_code", "reader_label", *CONFIG_FIELDS]
        # The page's form checks the values (with its messages); the fields check types only.
        extra_kwargs = {name: {"required": False, "validators": []} for name in CONFIG_FIELDS}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        study = self.context["study"]
        data = config_initial(study, inputs=attrs.get("inputs") or "text")
        data.update({k: ("" if v is None else v) for k, v in attrs.items() if k in CONFIG_FIELDS})
        data["reader_code"] = attrs.get("reader_code", "")
        data["reader_label"] = attrs.get("reader_label", "")
        code = attrs.get("reader") or ""
        if code:
            reader = selectors.model_readers_without_config(study).filter(code=code).first()
            if reader is None:
                raise ValidationError(
                    {
                        "reader": [
                            f"Not a model reader of this study without a configuration: {code}."
                        ]
                    }
                )
            data["reader"] = reader.pk
        form = GenerationConfigForm(data, study=study)
        if not form.is_valid():
            raise form_errors(form)
        return {
            "reader": form.cleaned_data.get("reader"),
            "reader_code": (form.cleaned_data.get("reader_code") or "").strip(),
            "reader_label": form.cleaned_data.get("reader_label") or "",
            "values": form.config_values(),
        }


class GenerationConfigList(StudyScopedMixin, generics.ListAPIView):
    """The study's model generation configurations, in reader order (GET); create one (POST),
    with the same rules as the configuration page."""

    study_roles_read = COORDINATOR_ONLY
    study_roles_write = COORDINATOR_ONLY
    serializer_class = GenerationConfigSerializer
    queryset = GenerationConfig.objects.none()

    def get_queryset(self) -> QuerySet[GenerationConfig]:
        return selectors.configs_for_study(self.study)

    @extend_schema(
        request=GenerationConfigCreateSerializer, responses={201: GenerationConfigSerializer}
    )
    def post(self, request: Request, slug: str) -> Response:
        form = GenerationConfigCreateSerializer(data=request.data, context={"study": self.study})
        form.is_valid(raise_exception=True)
        config = self.perform_create(form)
        return Response(GenerationConfigSerializer(config).data, status=status.HTTP_201_CREATED)

    def perform_create(self, serializer: GenerationConfigCreateSerializer) -> GenerationConfig:
        data = serializer.validated_data
        try:
            return generation_config_create(
                study=self.study,
                reader=data["reader"],
                reader_code=data["reader_code"],
                reader_label=data["reader_label"],
                values=data["values"],
                actor=signed_in_user(self.request),
            )
        except GenerationConflictError as exc:
            raise ValidationError({"reader": [str(exc)]}) from None


class GenerationRunSerializer(serializers.ModelSerializer):
    reader = serializers.CharField(source="config.reader.code", read_only=True)
    model = serializers.SerializerMethodField()
    created_by = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()

    class Meta:
        model = GenerationRun
        fields = [
            "id",
            "reader",
            "model",
            "status",
            "mode",
            "n_runs",
            "split",
            "limit",
            "overwrite",
            "estimate",
            "message",
            "counts",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_model(self, run: GenerationRun) -> str:
        return str(run.config_snapshot.get("model", ""))

    def get_created_by(self, run: GenerationRun) -> str | None:
        return None if run.created_by is None else run.created_by.get_username()

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_counts(self, run: GenerationRun) -> dict[str, int]:
        return {s: getattr(run, f"n_{s}", 0) for s in GenerationItem.Status.values}


class GenerationProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    finished = serializers.IntegerField()
    percent = serializers.FloatField()
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    active = serializers.BooleanField()
    stale = serializers.BooleanField()
    can_stop = serializers.BooleanField()
    can_resume = serializers.BooleanField()


class GenerationRunDetailSerializer(GenerationRunSerializer):
    progress = serializers.SerializerMethodField()

    class Meta(GenerationRunSerializer.Meta):
        fields = [*GenerationRunSerializer.Meta.fields, "progress"]
        read_only_fields = fields

    def _progress(self, run: GenerationRun) -> dict[str, Any]:
        cache: dict[int, dict[str, Any]] = self.__dict__.setdefault("_progress_cache", {})
        if run.pk not in cache:
            cache[run.pk] = selectors.run_progress(run)
        return cache[run.pk]

    @extend_schema_field(GenerationProgressSerializer)
    def get_progress(self, run: GenerationRun) -> dict[str, Any]:
        progress = self._progress(run)
        names: list[str] = list(GenerationProgressSerializer().fields)  # (the stubs iterate Fields)
        return {k: progress[k] for k in names}

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_counts(self, run: GenerationRun) -> dict[str, int]:
        return dict(self._progress(run)["counts"])


class GenerationRunStartSerializer(serializers.Serializer):
    reader = serializers.CharField(help_text="Code of a model reader with a configuration.")
    mode = serializers.ChoiceField(choices=GenerationRun.Mode.choices, default="direct")
    n_runs = serializers.IntegerField(
        min_value=1, max_value=20, required=False, help_text="Default: the configuration's."
    )
    split = serializers.ChoiceField(choices=GenerationRun.Split.choices, default="test")
    limit = serializers.IntegerField(
        min_value=1, max_value=INT32_MAX, required=False, allow_null=True
    )
    overwrite = serializers.BooleanField(default=False)


def _runs(view: StudyScopedMixin) -> QuerySet[GenerationRun]:
    counts = {
        f"n_{s}": Count("items", filter=Q(items__status=s)) for s in GenerationItem.Status.values
    }
    return selectors.runs_for_study(view.study).annotate(**counts)


class GenerationRunList(StudyScopedMixin, generics.ListAPIView):
    """The study's generation runs, newest first, with item counts by status; POST starts one."""

    study_roles_read = COORDINATOR_ONLY
    study_roles_write = COORDINATOR_ONLY
    serializer_class = GenerationRunSerializer
    filterset_class = GenerationRunFilter
    queryset = GenerationRun.objects.none()

    def get_queryset(self) -> QuerySet[GenerationRun]:
        return _runs(self)

    @extend_schema(
        request=GenerationRunStartSerializer, responses={201: GenerationRunDetailSerializer}
    )
    def post(self, request: Request, slug: str) -> Response:
        shape = GenerationRunStartSerializer(data=request.data)
        shape.is_valid(raise_exception=True)
        data = dict(shape.validated_data)
        config = (
            GenerationConfig.objects.filter(reader__study=self.study, reader__code=data["reader"])
            .select_related("reader__study")
            .first()
        )
        if config is None:
            raise ValidationError(
                {"reader": ["no model reader with a configuration has this code"]}
            )
        form = RunStartForm(
            {
                "mode": data["mode"],
                "n_runs": data.get("n_runs") or config.n_runs,
                "split": data["split"],
                "limit": data.get("limit") or "",
                "overwrite": data["overwrite"] or "",
            }
        )
        if not form.is_valid():
            raise ValidationError({name: list(errs) for name, errs in form.errors.items()})
        try:
            run = run_create(
                config=config,
                actor=request.user,
                options=form.options(),
            )
        except GenerationConflictError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except ConnectionSettingsError as exc:
            raise ValidationError({"reader": [str(exc)]}) from None
        run_dispatch(run=run)
        run.refresh_from_db()
        return Response(GenerationRunDetailSerializer(run).data, status=status.HTTP_201_CREATED)


class GenerationRunDetail(StudyScopedMixin, generics.RetrieveAPIView):
    """One generation run with its progress."""

    study_roles_read = COORDINATOR_ONLY
    serializer_class = GenerationRunDetailSerializer
    lookup_url_kwarg = "run_id"
    queryset = GenerationRun.objects.none()

    def get_queryset(self) -> QuerySet[GenerationRun]:
        return selectors.runs_for_study(self.study)


class _RunAction(StudyScopedMixin, APIView):
    study_roles_write = COORDINATOR_ONLY
    action = ""

    @extend_schema(request=None, responses={200: GenerationRunDetailSerializer})
    def post(self, request: Request, slug: str, run_id: int) -> Response:
        run = selectors.run_for_study(self.study, run_id)
        if run is None:
            raise NotFound("No such run.")
        try:
            if self.action == "stop":
                run_stop(run=run, actor=request.user)
            else:
                run = run_resume(run=run, actor=request.user)
                run_dispatch(run=run)
        except GenerationConflictError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except ConnectionSettingsError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        run.refresh_from_db()
        return Response(GenerationRunDetailSerializer(run).data)


class GenerationRunStop(_RunAction):
    """Stop a run: queued or waiting at once, running after the requests in flight."""

    action = "stop"


class GenerationRunResume(_RunAction):
    """Resume a stopped or failed run; its finished items are kept."""

    action = "resume"
