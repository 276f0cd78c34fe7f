from django.apps import AppConfig

from readerstudy.studies.consensus import register_consensus


class AnalysisConfig(AppConfig):
    name = "analysis"
    verbose_name = "Analysis"

    def ready(self) -> None:
        from analysis import receivers
        from analysis.results import runs_final_category

        register_consensus(runs_final_category)
        receivers.connect()
