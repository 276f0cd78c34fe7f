"""Model readers generated from OpenAI-compatible APIs: configurations, runs and their items.

A :class:`GenerationConfig` turns a reader of kind ``model`` into something the platform can
query: the server (OpenAI, Azure OpenAI, or any OpenAI-compatible server such as vLLM or
Ollama), the model id, the prompt, the inputs and the answer's JSON schema. It never holds
an API key: ``api_key_env`` names an environment variable (or a key of the secrets file
given by ``READERSTUDY_SECRETS_FILE``) that is read when the requests are sent.

A :class:`GenerationRun` asks the model for every selected case ``n_runs`` times; each
(case, run) is one :class:`GenerationItem`, sent as a fresh request with no shared context.
An item whose answer parses creates exactly one ``Reading`` (source ``generated``); a refusal
or an unparseable answer is recorded on the item and creates no reading.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from readerstudy.core.llm.egress import validate_base_url
from readerstudy.core.llm.keys import API_KEY_ENV_PATTERN
from readerstudy.studies.models import SPLIT_SELECTIONS, SplitSelection


class GenerationConfig(models.Model):
    """How a model reader is queried. One per reader of kind ``model``."""

    class Provider(models.TextChoices):
        OPENAI = "openai", "OpenAI or an OpenAI-compatible server (vLLM, Ollama, ...)"
        AZURE = "azure", "Azure OpenAI"

    class Inputs(models.TextChoices):
        TEXT = "text", "Text only"
        IMAGES = "images", "Images only"
        TEXT_IMAGES = "text+images", "Text and images"

    class ImageDetail(models.TextChoices):
        AUTO = "auto", "Auto"
        LOW = "low", "Low"
        HIGH = "high", "High"

    class ResponseFormat(models.TextChoices):
        JSON_SCHEMA = "json_schema", "JSON schema (structured outputs)"
        JSON_OBJECT = "json_object", "JSON object"
        NONE = "none", "None (the prompt asks for JSON)"

    class TokenParam(models.TextChoices):
        MAX_TOKENS = "max_tokens", "max_tokens"
        MAX_COMPLETION_TOKENS = "max_completion_tokens", "max_completion_tokens"

    reader = models.OneToOneField(
        "readerstudy.Reader", on_delete=models.CASCADE, related_name="generation_config"
    )
    provider = models.CharField(max_length=10, choices=Provider.choices, default=Provider.OPENAI)
    base_url = models.CharField(
        "API base URL",
        max_length=500,
        validators=[validate_base_url],
        help_text="e.g. https://api.openai.com/v1, http://gpu-server:8000/v1 (vLLM), "
        "http://localhost:11434/v1 (Ollama); for Azure the resource endpoint.",
    )
    api_version = models.CharField(
        "API version", max_length=40, blank=True, help_text="Azure OpenAI only, e.g. 2024-10-21."
    )
    model = models.CharField(
        "model id",
        max_length=200,
        help_text="e.g. gpt-4o-2024-08-06 or a fine-tuned id ft:gpt-4o-2024-08-06:org::abc; "
        "for Azure the deployment name.",
    )
    api_key_env = models.CharField(
        "API key variable",
        max_length=100,
        blank=True,
        help_text="The NAME of the environment variable (or secrets-file entry) holding the "
        "key, e.g. OPENAI_API_KEY. Never the key itself. Empty for servers without keys.",
    )
    system_template = models.TextField(blank=True)
    user_template = models.TextField()
    inputs = models.CharField(max_length=12, choices=Inputs.choices, default=Inputs.TEXT)
    image_detail = models.CharField(
        max_length=4, choices=ImageDetail.choices, default=ImageDetail.AUTO
    )
    max_images = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Send at most this many images per case (empty: all)."
    )
    temperature = models.FloatField(
        null=True,
        blank=True,
        default=1.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(2.0)],
    )
    seed = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="Run r is sent with seed + r − 1 (empty: no seed).",
    )
    n_runs = models.PositiveSmallIntegerField(
        "runs per case", default=3, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    response_format = models.CharField(
        max_length=12, choices=ResponseFormat.choices, default=ResponseFormat.JSON_SCHEMA
    )
    response_schema = models.JSONField(
        "answer JSON schema",
        default=dict,
        blank=True,
        help_text="Must have the properties category and impression (and usually management).",
    )
    max_tokens = models.PositiveIntegerField(default=800, validators=[MinValueValidator(1)])
    token_param = models.CharField(
        max_length=25, choices=TokenParam.choices, default=TokenParam.MAX_TOKENS
    )
    price_input_per_1k = models.DecimalField(
        "price per 1,000 input tokens", max_digits=12, decimal_places=6, default=0
    )
    price_output_per_1k = models.DecimalField(
        "price per 1,000 output tokens", max_digits=12, decimal_places=6, default=0
    )
    concurrency = models.PositiveSmallIntegerField(
        "requests in flight", default=8, validators=[MinValueValidator(1), MaxValueValidator(256)]
    )
    timeout_seconds = models.FloatField(
        "timeout per request (s)", default=120.0, validators=[MinValueValidator(0.1)]
    )
    max_attempts = models.PositiveSmallIntegerField(
        "attempts per item",
        default=5,
        help_text="Including the first request.",
        validators=[MinValueValidator(1), MaxValueValidator(20)],
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "readerstudy"
        ordering = ["reader"]
        constraints = [
            models.CheckConstraint(
                condition=Q(api_key_env="") | Q(api_key_env__regex=API_KEY_ENV_PATTERN),
                name="generationconfig_api_key_env_is_a_name",
            ),
            models.CheckConstraint(
                condition=Q(provider__in=["openai", "azure"]), name="generationconfig_provider"
            ),
            models.CheckConstraint(
                condition=Q(inputs__in=["text", "images", "text+images"]),
                name="generationconfig_inputs",
            ),
            models.CheckConstraint(
                condition=Q(n_runs__gte=1) & Q(n_runs__lte=20), name="generationconfig_n_runs"
            ),
            models.CheckConstraint(
                condition=Q(concurrency__gte=1) & Q(concurrency__lte=256),
                name="generationconfig_concurrency",
            ),
            models.CheckConstraint(
                condition=Q(max_attempts__gte=1) & Q(max_attempts__lte=20),
                name="generationconfig_max_attempts",
            ),
            models.CheckConstraint(
                condition=Q(temperature__isnull=True)
                | (Q(temperature__gte=0) & Q(temperature__lte=2)),
                name="generationconfig_temperature",
            ),
            models.CheckConstraint(
                condition=Q(timeout_seconds__gt=0), name="generationconfig_timeout_positive"
            ),
            models.CheckConstraint(
                condition=Q(price_input_per_1k__gte=0) & Q(price_output_per_1k__gte=0),
                name="generationconfig_prices_nonnegative",
            ),
            models.CheckConstraint(
                condition=Q(max_tokens__gte=1), name="generationconfig_max_tokens_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reader} via {self.model}"


class GenerationRun(models.Model):
    """One request for answers: every selected case, ``n_runs`` times (direct or Batch API)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        STOPPING = "stopping", "Stopping"
        STOPPED = "stopped", "Stopped"
        WAITING = "waiting", "Waiting for the batch"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"

    class Mode(models.TextChoices):
        DIRECT = "direct", "Direct requests"
        BATCH = "batch", "Batch API"

    Split = SplitSelection

    ACTIVE = ("queued", "running", "stopping", "waiting")
    RESUMABLE = ("stopped", "failed")

    config = models.ForeignKey(GenerationConfig, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    mode = models.CharField(max_length=6, choices=Mode.choices, default=Mode.DIRECT)
    n_runs = models.PositiveSmallIntegerField("runs per case")
    split = models.CharField(max_length=5, choices=Split.choices, default=Split.TEST)
    limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Only the first N selected cases (a trial run)."
    )
    overwrite = models.BooleanField(
        default=False, help_text="Existing readings of this reader on these cases were deleted."
    )
    config_snapshot = models.JSONField(
        default=dict, help_text="The configuration as used (no key: configs hold none)."
    )
    estimate = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    celery_task_id = models.CharField(max_length=100, blank=True)
    batches = models.JSONField(
        default=list,
        blank=True,
        help_text="Batch API jobs: [{id, input_file_id, status, output_file_id, error_file_id}]",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "readerstudy"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "queued",
                        "running",
                        "stopping",
                        "stopped",
                        "waiting",
                        "finished",
                        "failed",
                    ]
                ),
                name="generationrun_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(mode__in=["direct", "batch"]), name="generationrun_mode_valid"
            ),
            models.CheckConstraint(
                condition=Q(split__in=list(SPLIT_SELECTIONS)), name="generationrun_split_valid"
            ),
            models.CheckConstraint(
                condition=Q(n_runs__gte=1) & Q(n_runs__lte=20), name="generationrun_n_runs"
            ),
            # At most one run of a configuration is active at a time.
            models.UniqueConstraint(
                fields=["config"],
                condition=Q(status__in=["queued", "running", "stopping", "waiting"]),
                name="generationrun_one_active_per_config",
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} of {self.config.reader}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class GenerationItem(models.Model):
    """One (case, run) of a generation run: one fresh request and what came back."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        REFUSED = "refused", "Refused"
        UNPARSEABLE = "unparseable", "Unparseable"
        ERROR = "error", "Error"

    #: Outcomes that are final: a resumed run does not ask again.
    FINAL = ("done", "refused", "unparseable")

    run = models.ForeignKey(GenerationRun, on_delete=models.CASCADE, related_name="items")
    case = models.ForeignKey(
        "readerstudy.Case", on_delete=models.CASCADE, related_name="generation_items"
    )
    run_number = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    attempt_log = models.JSONField(
        default=list, blank=True, help_text="Every attempt: status, error, latency, wait."
    )
    request_summary = models.JSONField(
        default=dict, blank=True, help_text="The prompt as sent (images counted, not stored)."
    )
    raw_response = models.JSONField(null=True, blank=True)
    raw_text = models.TextField(blank=True, help_text="The message content as returned")
    parsed = models.JSONField(null=True, blank=True)
    refusal = models.TextField(blank=True)
    finish_reason = models.CharField(max_length=40, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    batch_id = models.CharField(max_length=100, blank=True)
    reading = models.OneToOneField(
        "readerstudy.Reading",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="generation_item",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "readerstudy"
        ordering = ["run", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "case", "run_number"], name="generationitem_unique_per_run"
            ),
            models.CheckConstraint(
                condition=Q(run_number__gte=1), name="generationitem_run_number_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "done", "refused", "unparseable", "error"]),
                name="generationitem_status_valid",
            ),
            # A reading exists exactly for the items that are done.
            models.CheckConstraint(
                condition=Q(reading__isnull=True) | Q(status="done"),
                name="generationitem_reading_only_when_done",
            ),
        ]
        indexes = [models.Index(fields=["run", "status"], name="generationitem_run_status")]

    def __str__(self) -> str:
        return f"{self.case.code} run {self.run_number}: {self.status}"


class FineTuneJob(models.Model):
    """A fine-tuning job created from an exported training set, and its last known status."""

    study = models.ForeignKey(
        "readerstudy.Study", on_delete=models.CASCADE, related_name="finetune_jobs"
    )
    mode = models.CharField(max_length=6, help_text="text, images or joint")
    n_examples = models.PositiveIntegerField()
    provider = models.CharField(max_length=10, default=GenerationConfig.Provider.OPENAI)
    base_url = models.CharField(max_length=500, validators=[validate_base_url])
    api_version = models.CharField(max_length=40, blank=True)
    api_key_env = models.CharField(max_length=100, blank=True)
    base_model = models.CharField(max_length=200)
    hyperparameters = models.JSONField(default=dict, blank=True)
    training_file_id = models.CharField(max_length=100)
    job_id = models.CharField(max_length=100)
    status = models.CharField(max_length=40)
    fine_tuned_model = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    raw = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "readerstudy"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(mode__in=["text", "images", "joint"]), name="finetunejob_mode_valid"
            ),
            models.CheckConstraint(
                condition=Q(api_key_env="") | Q(api_key_env__regex=API_KEY_ENV_PATTERN),
                name="finetunejob_api_key_env_is_a_name",
            ),
        ]

    def __str__(self) -> str:
        return f"fine-tuning job {self.job_id} ({self.status})"
