"""What a series of chat requests will cost before it is sent: tokens and prices.

Input tokens are estimated at :data:`CHARS_PER_TOKEN` characters of text per token plus
:data:`MESSAGE_OVERHEAD_TOKENS` per message; output tokens at most ``max_tokens`` per
request; costs are tokens × the configured price per 1,000 tokens. Model generation (per
case) and the LLM judges (per rating item) report the same :class:`Estimate`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

#: Rough size of a token in characters of English text, for the cost estimate only.
CHARS_PER_TOKEN = 4
#: Tokens of chat formatting per message (role markers), for the estimate.
MESSAGE_OVERHEAD_TOKENS = 4


def estimate_text_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


@dataclass(frozen=True)
class Estimate:
    """Requests, tokens and cost of a run before it starts (input tokens ≈ characters ÷ 4
    plus image tiles; output tokens at most ``max_tokens`` per request)."""

    n_cases: int  # the cases of a generation run, the rating items of a judge run
    n_requests: int
    input_tokens: int
    output_tokens_max: int
    cost_input: Decimal
    cost_output_max: Decimal

    @property
    def cost_max(self) -> Decimal:
        return self.cost_input + self.cost_output_max

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["cost_input"] = str(self.cost_input.quantize(Decimal("0.0001")))
        data["cost_output_max"] = str(self.cost_output_max.quantize(Decimal("0.0001")))
        data["cost_max"] = str(self.cost_max.quantize(Decimal("0.0001")))
        return data
