"""Payout calculation speed: claims per second through tasks.claims.benefits.calculate with the default rules.

    python benchmarks/bench_payout.py [--rows 100000] [--repeat 5]

The claims are varied and seeded: mostly hospitalisation with costs from a few hundred to a few hundred
thousand yuan and every amount of cap already used (none, some, nearly all, all), some critical illness
(listed and unlisted diagnoses, some already paid this year), some special hardship, and a few filed late
or outside coverage. The calculation is pure, so --db is accepted for a uniform command line and unused.
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import emit, environment, median_seconds, parse_args, peak_rss_mb
from models.claims_enums import BenefitType
from models.rules import PolicyRules
from tasks.claims.benefits import ClaimFacts, calculate

LISTED = ("C34.9", "C50.9", "I21.0", "I63.9", "N18.5", "Z94.0")
UNLISTED = ("J18.9", "K35.8", "S72.0", "E11.9")


def _hospitalisation(rng: random.Random, cap_fen: int) -> ClaimFacts:
    low, high = rng.choice(((20_000, 300_000), (300_000, 3_000_000), (3_000_000, 30_000_000)))  # fen
    total = rng.randint(low, high)
    basic = int(total * rng.uniform(0.3, 0.7))
    serious = int(total * rng.uniform(0.0, 0.15)) if rng.random() < 0.3 else 0
    other = int(total * rng.uniform(0.0, 0.05)) if rng.random() < 0.1 else 0
    self_paid = int((total - basic - serious - other) * rng.uniform(0.0, 0.3))
    bands = ((0, 0), (1, cap_fen // 2), (cap_fen // 2, cap_fen), (cap_fen, cap_fen))  # cap used: none, some, most, all
    used = rng.randint(*rng.choices(bands, weights=(55, 20, 17, 8))[0])
    return ClaimFacts(
        benefit_type=BenefitType.HOSPITALISATION,
        total_fen=total,
        basic_insurance_fen=basic,
        serious_illness_fen=serious,
        other_reimbursement_fen=other,
        self_paid_fen=self_paid,
        diagnosis_code=rng.choice(UNLISTED),
        covered_on_admission=rng.random() > 0.01,
        within_deadline=rng.random() > 0.01,
        used_cap_fen=used,
    )


def make_claims(count: int, cap_fen: int, seed: int = 20260101) -> list[ClaimFacts]:
    """count varied claim facts: ~85% hospitalisation, ~8% critical illness, ~7% special hardship."""
    rng = random.Random(seed)
    claims: list[ClaimFacts] = []
    for _ in range(count):
        draw = rng.random()
        if draw < 0.85:
            claims.append(_hospitalisation(rng, cap_fen))
        elif draw < 0.93:
            claims.append(
                ClaimFacts(
                    benefit_type=BenefitType.CRITICAL_ILLNESS,
                    diagnosis_code=rng.choice(LISTED) if rng.random() < 0.8 else rng.choice(UNLISTED),
                    times_used=int(rng.random() < 0.05),
                    used_cap_fen=rng.choice((0, 0, rng.randint(0, cap_fen))),
                )
            )
        else:
            claims.append(
                ClaimFacts(
                    benefit_type=BenefitType.SPECIAL_HARDSHIP,
                    requested_fen=rng.randint(50_000, 600_000),
                    used_cap_fen=rng.choice((0, rng.randint(0, cap_fen))),
                )
            )
    return claims


def main() -> None:
    """Time the calculation over the claims `repeat` times and print the median figures."""
    args = parse_args(__doc__ or "", 100_000, repeat=(int, 5, "timed runs (default 5)"))
    rules = PolicyRules()
    claims = make_claims(args.rows, rules.annual_cap_fen)

    def run() -> None:
        for facts in claims:
            calculate(facts, rules)

    calculate(claims[0], rules)  # warm up imports and caches outside the timing
    median, runs = median_seconds(run, args.repeat)
    results = [calculate(facts, rules) for facts in claims]
    emit(
        {
            "benchmark": "payout",
            "claims": args.rows,
            "runs": args.repeat,
            "claims_per_second": round(args.rows / median, 1),
            "per_claim_us": round(median / args.rows * 1e6, 2),
            "seconds_median": round(median, 4),
            "seconds_runs": [round(s, 4) for s in runs],
            "mix": dict(Counter(str(c.benefit_type) for c in claims)),
            "paid_claims": sum(1 for r in results if r.payout_fen > 0),
            "refused_claims": sum(1 for r in results if r.rejection),
            "cap_exhausted_claims": sum(1 for r in results if r.rejection == "本年度补偿已达封顶额"),
            "total_payout_fen": sum(r.payout_fen for r in results),
            "peak_rss_mb": peak_rss_mb(),
            "database": None,
            "environment": environment(),
        }
    )


if __name__ == "__main__":
    main()
