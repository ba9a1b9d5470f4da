"""schemathesis hooks: teach the generator the rules JSON Schema cannot state.

The OpenAPI document carries every constraint it can express (lengths,
ranges, patterns, enums, the shape of each segment condition). What remains
are rules across fields or against stored data, each stated in the document's
descriptions: an opaque cursor must be one the server issued, `from` comes
before `to`, a referenced customer must exist, a static segment has no rule,
every severity needs a general SLA policy, and so on. A schema-valid request
that breaks one of them is rightly a 422, so before a *positive* case is sent
these hooks bring it within the rules (schemathesis re-validates the edited
case against the schema). Negative cases are sent as generated.

The fixture customer's id comes from RAPPORT_ST_CUSTOMER_ID, the caller's role
from RAPPORT_ST_ROLE.
"""

import json
import os
import uuid
from datetime import date, datetime, timedelta, timezone

import schemathesis

CUSTOMER_ID = os.environ.get("RAPPORT_ST_CUSTOMER_ID", "")
ROLE = os.environ.get("RAPPORT_ST_ROLE", "admin")
SEVERITIES = ("urgent", "important", "general")
ZONES = ("UTC", "Europe/Paris", "Asia/Shanghai", "America/New_York", "America/Argentina/Buenos_Aires")
RANGES = (("from", "to"), ("created_from", "created_to"), ("ordered_from", "ordered_to"))


def _positive(case):
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


def _instant(value):
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _before(low, high):
    low = _instant(low)
    high = _instant(high) if high is not None else datetime.now(timezone.utc)
    return low is None or high is None or low < high


def _query(case):
    query = case.query
    if not isinstance(query, dict):
        return
    # A cursor is opaque: only one the server issued is valid.
    query.pop("cursor", None)
    query.pop("after", None)
    # The event feed's `types` is a comma-separated list of known types.
    if "types" in query:
        query["types"] = "customer.created,order.completed"
    for low, high in RANGES:
        if low in query and not _before(query[low], query.get(high)):
            # `to` defaults to now.
            query.pop(low)
    if case.path.endswith("/loyalty/statement"):
        # A statement covers at most 366 days.
        query["from"], query["to"] = "2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z"
    if case.path == "/api/v1/surveys/{id}/results":
        # A trend holds at most 520 intervals: the default period.
        query.pop("from", None)
    if ROLE in ("analyst", "partner") and str(query.get("sort", "")).startswith("name"):
        # Roles that see names masked may not sort by them.
        query.pop("sort")


def _health(body):
    """Cut-offs run healthy >= watch >= at_risk; a factor besides manual and unmet_needs weighs
    something; each warning clears at or beyond where it fires."""
    cutoffs = body.get("cutoffs")
    if isinstance(cutoffs, dict):
        levels = [cutoffs.get(k) for k in ("healthy", "watch", "at_risk")]
        if all(isinstance(v, (int, float)) for v in levels):
            cutoffs["healthy"], cutoffs["watch"], cutoffs["at_risk"] = sorted(levels, reverse=True)
    warning = body.get("warning")
    if isinstance(warning, dict):
        for fire, clear in (("score_fire_below", "score_clear_at"), ("satisfaction_fire_below", "satisfaction_clear_at")):
            low, high = warning.get(fire), warning.get(clear)
            if isinstance(low, (int, float)) and isinstance(high, (int, float)) and high < low:
                warning[fire], warning[clear] = high, low
        days, clear_days = warning.get("dormant_days"), warning.get("dormant_clear_days")
        if isinstance(days, (int, float)) and isinstance(clear_days, (int, float)) and clear_days > days:
            warning["dormant_clear_days"] = days
    weights = body.get("weights")
    if isinstance(weights, dict):
        others = [v for k, v in weights.items() if k not in ("manual", "unmet_needs")]
        if others and all(isinstance(v, (int, float)) and v <= 0 for v in others):
            weights["order_recency"] = 25


def _rule(rule):
    """Orders `[low, high]` pairs inside a segment rule."""
    if isinstance(rule, dict):
        if rule.get("op") == "between" and isinstance(rule.get("value"), list) and len(rule["value"]) == 2:
            low, high = rule["value"]
            try:
                if low > high:
                    rule["value"] = [high, low]
            except TypeError:
                pass
        for value in rule.values():
            _rule(value)
    elif isinstance(rule, list):
        for item in rule:
            _rule(item)


def _calendar(body):
    # An IANA name of the right shape may still be unknown.
    if body.get("time_zone") not in ZONES:
        body["time_zone"] = "Europe/Paris"
    days = []
    for day in body.get("week", []):
        if not isinstance(day, dict) or any(d.get("day") == day.get("day") for d in days):
            continue
        blocks = sorted(day.get("hours") or [], key=lambda b: b.get("start", ""))
        kept = []
        for block in blocks:
            end = block.get("end", "")
            if block.get("start", "") < end and (not kept or kept[-1]["end"] <= block.get("start", "")):
                kept.append(block)
        day["hours"] = kept or [{"start": "09:00", "end": "17:00"}]
        days.append(day)
    body["week"] = days or [{"day": "mon", "hours": [{"start": "09:00", "end": "17:00"}]}]


def _body(case):
    body = case.body
    if not isinstance(body, dict):
        return
    path = case.path
    if (path.startswith("/api/v1/me/") and not path.startswith("/api/v1/me/surveys")) or path in (
        "/api/v1/feedback",
        "/api/v1/orders",
        "/api/v1/tasks",
    ):
        # A referenced customer must exist (and be the caller, for a customer).
        body["customer_id"] = CUSTOMER_ID
        body.pop("customer_external_id", None)
    # A time zone must be a real IANA name, not just shaped like one.
    if isinstance(body.get("time_zone"), str) and body["time_zone"] not in ZONES:
        body["time_zone"] = "America/New_York"
    # Dates of the past: birthdays and relationships from 1900 on, orders not ahead.
    for key in ("birthday", "relationship_start"):
        try:
            day = date.fromisoformat(str(body.get(key)))
        except ValueError:
            continue
        if day.year < 1900 or day > date.today():
            body.pop(key)
    for key in ("ordered_at", "occurred_at", "confirmed_at", "failed_at"):
        # What has happened is not ahead of now (beyond a few minutes of skew).
        if key in body and not _before(body[key], None):
            body.pop(key)
    # Optional references to rows the generator cannot know.
    body.pop("feedback_id", None)
    if path == "/api/v1/customers/{id}/needs":
        # The item a need came from is one the generator cannot know.
        body.pop("source_id", None)
    if path == "/api/v1/needs/{id}/transitions":
        _need_move(body)
    if path == "/api/v1/customers/{id}/payment-failures":
        # An order of this customer the generator cannot know; an amount
        # goes with its currency.
        body.pop("order_id", None)
        if ("amount_minor" in body) != ("currency" in body) or body.get("amount_minor") is None or body.get("currency") is None:
            body.pop("amount_minor", None)
            body.pop("currency", None)
    body.pop("contact_id", None)
    if path.startswith("/api/v1/me/"):
        # Set by staff.
        body.pop("assignee_id", None)
        body.pop("severity", None)
    if path.endswith("/members") or path.endswith("/members/remove"):
        body["customer_ids"] = [CUSTOMER_ID]
        body["external_ids"] = []
    if path == "/api/v1/segments" and case.method.upper() == "POST":
        if body.get("kind") == "static":
            body.pop("rule", None)
        elif not body.get("rule"):
            body["rule"] = {"field": "tier", "op": "eq", "value": "key"}
    if "rule" in body:
        _rule(body["rule"])
    if path == "/api/v1/webhooks/{id}/replay":
        # `since` before `until`; pending deliveries are not replayed.
        if not _before(body.get("since"), body.get("until")):
            body["since"], body["until"] = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"
        if body.get("status") == "pending":
            body["status"] = "failed"
    if path == "/api/v1/settings/sla-policies" and isinstance(body.get("policies"), list):
        seen, policies = set(), []
        for policy in body["policies"]:
            key = (policy.get("severity"), policy.get("kind"))
            if key not in seen:
                seen.add(key)
                policies.append(policy)
        for severity in SEVERITIES:
            if (severity, None) not in seen:
                target = {"amount": 1, "unit": "hours"}
                policies.append({"severity": severity, "first_response": target, "resolution": target})
        body["policies"] = policies
    if path == "/api/v1/settings/analytics":
        key, important = body.get("key_tier_percent"), body.get("important_tier_percent")
        if isinstance(key, (int, float)) and isinstance(important, (int, float)) and key + important > 100:
            body["important_tier_percent"] = 100 - int(key)
    if path == "/api/v1/tasks/{id}" and body.get("status") == "done" and not body.get("outcome"):
        # Finishing a task needs an outcome.
        body["outcome"] = "Done"
    if path == "/api/v1/staff/{id}" and body.get("manager_id") == case.path_parameters.get("id"):
        # Nobody manages themselves.
        body.pop("manager_id")
    if path == "/api/v1/settings/business-calendar":
        _calendar(body)
    if path in ("/api/v1/surveys", "/api/v1/surveys/{id}"):
        _survey(body, case.method.upper())
    if path == "/api/v1/surveys/{id}/invitations":
        # Someone to invite; a segment must exist.
        body.pop("segment_id", None)
        if not body.get("customer_ids") and not body.get("external_ids"):
            body["customer_ids"] = [CUSTOMER_ID]
    if path == "/api/v1/settings/surveys":
        # The follow-up survey must exist and be a CSAT survey.
        body["follow_up_survey_id"] = None
    if path in LOYALTY_PATHS or path.startswith("/api/v1/loyalty/") or path.endswith(("/loyalty/earn", "/loyalty/redeem", "/loyalty/holds", "/loyalty/adjust")):
        _loyalty(body, path)
    for key in ("custom_attributes", "benefits"):
        # An object's keys cannot carry the no-NUL rule in the schema.
        if isinstance(body.get(key), dict) and ("\\u0000" in json.dumps(body[key]) or not _numbers_fit(body[key])):
            # Numbers within ±1e300 (jsonb keeps decimals a double cannot read back).
            body[key] = {}
    if path in ("/api/v1/settings/health", "/api/v1/analytics/health/preview", "/api/v1/analytics/health/backtest"):
        _health(body)
    if path in ("/api/v1/customers", "/api/v1/customers/{id}") and "churn_reason" in body:
        # A churn reason goes with the churned stage, never null while churned.
        if body.get("lifecycle_stage") != "churned" or body["churn_reason"] is None:
            body.pop("churn_reason")
    if path == "/api/v1/tasks/reassign":
        # Either the tasks named or one assignee's open tasks.
        if body.get("task_ids") is not None:
            body.pop("from_assignee_id", None)
        elif body.get("from_assignee_id") is None:
            body.pop("task_ids", None)
            body["from_assignee_id"] = "agent-1"
    if path == "/api/v1/customers/{id}/health/override":
        # An override counts from now until a date within a year.
        body["expires_at"] = (datetime.now(timezone.utc) + timedelta(days=30)).isoformat()
    if path == "/api/v1/orders/{id}/refund":
        # What is left to refund is the order's: refund it in full.
        body.pop("amount_minor", None)
    if path == "/api/v1/customers" and case.method.upper() == "POST":
        # A referral code must be a customer's.
        body.pop("referral_code", None)
    if path == "/api/v1/orders":
        amount, paid = body.get("amount_minor"), body.get("points_paid_minor")
        if isinstance(amount, int) and isinstance(paid, int) and paid > amount:
            # Paid with points: at most the whole amount.
            body["points_paid_minor"] = amount
    if path == "/api/v1/settings/feedback-classification" and isinstance(body.get("kind_floors"), list):
        floors = {}
        for floor in body["kind_floors"]:
            floors.setdefault(floor.get("kind"), floor)
        body["kind_floors"] = list(floors.values())


def _need_move(body):
    """A need's move carries what its target status asks for."""
    if body.get("to") == "confirmed":
        # A confirmation names a contact of the need's customer, which the
        # generator cannot know: propose instead.
        body["to"] = "proposed"
    body.pop("confirmed_by_contact_id", None)
    body.pop("confirmed_at", None)
    if body.get("to") == "proposed" and not body.get("solution"):
        body["solution"] = "A weekly call with their operations lead"
    if body.get("to") in ("declined", "withdrawn") and not body.get("reason"):
        body["reason"] = "No longer needed"


def _numbers_fit(value):
    """Whether every number in a JSON value is within ±1e300."""
    if isinstance(value, bool):
        return True
    if isinstance(value, (int, float)):
        return abs(value) <= 1e300
    if isinstance(value, list):
        return all(_numbers_fit(v) for v in value)
    if isinstance(value, dict):
        return all(_numbers_fit(v) for v in value.values())
    return True


LOYALTY_PATHS = ("/api/v1/loyalty/program",)


def _loyalty(body, path):
    """A loyalty body within the rules across its fields and stored data."""
    if path.endswith("/loyalty/earn"):
        # Exactly one way to earn; an order or a currency's rate the
        # generator cannot know: a bonus.
        for key in ("amount_minor", "currency", "order_id"):
            body.pop(key, None)
        points = body.get("points")
        if not isinstance(points, int) or not 1 <= points <= 10**9:
            body["points"] = 10
    if path.endswith(("/loyalty/redeem", "/loyalty/holds")):
        # The order a spending pays for must be the customer's.
        body.pop("order_id", None)
    if path.endswith("/loyalty/adjust") and body.get("points") == 0:
        # An adjustment moves something.
        body["points"] = 1
    if path == "/api/v1/loyalty/rewards/{id}/redeem":
        body["customer_id"] = CUSTOMER_ID
        body.pop("customer_external_id", None)
    if path in ("/api/v1/loyalty/rewards", "/api/v1/loyalty/rewards/{id}"):
        if body.get("available_from") and body.get("available_until") and not _before(
            body["available_from"], body["available_until"]
        ):
            body.pop("available_until")
    if path == "/api/v1/loyalty/program":
        # A large minimum redemption would make every later redemption a 422.
        body["min_redemption"] = 1
        if "time_zone" in body and body["time_zone"] not in ZONES:
            body["time_zone"] = "Europe/Paris"
        if isinstance(body.get("earn_rates"), list):
            rates = {}
            for rate in body["earn_rates"]:
                if isinstance(rate, dict):
                    rates.setdefault(str(rate.get("currency", "")).upper(), rate)
            body["earn_rates"] = list(rates.values())


def _survey(body, method):
    """A survey body within the rules across its fields."""
    if "default_language" in body:
        body["default_language"] = "en"
    for key in ("score_text", "comment_text"):
        if isinstance(body.get(key), dict):
            # Every text needs one in the default language.
            body[key] = {"en": "How was it?", **{k: v for k, v in body[key].items() if k != "en"}}
    if method == "PATCH":
        # The survey's kind is not known here: a custom survey takes
        # questions, the others their score and comment texts.
        for key in ("questions", "score_text", "comment_text"):
            body.pop(key, None)
    elif body.get("kind") == "custom":
        body.pop("score_text", None)
        body.pop("comment_text", None)
        body["questions"] = [{"id": "q1", "type": "text", "text": {"en": "Anything to add?"}}]
    else:
        body.pop("questions", None)
    days = [k for k in ("fatigue_kind_days", "fatigue_cooldown_days") if body.get(k) is not None]
    if days:
        body["fatigue"] = "override"
    elif body.get("fatigue") == "override":
        body["fatigue_kind_days"] = 90
    if body.get("trigger") is not None:
        # A periodic trigger names a segment the generator cannot know.
        body["trigger"] = {"kind": "after_order", "delay_minutes": 0}
    if method == "PATCH" and body.get("clear_trigger"):
        body.pop("trigger", None)


def _headers(case):
    headers = case.headers
    if headers is None:
        return
    for name in list(headers.keys()):
        value = headers[name]
        valid = isinstance(value, str) and 0 < len(value) <= 255 and all(0x21 <= ord(c) <= 0x7E for c in value)
        if name.lower() == "idempotency-key" and valid:
            # A key names one request: reused with another body it is rightly
            # a 422, so each generated request gets its own.
            headers[name] = f"st-{uuid.uuid4()}"


def _path(case):
    params = case.path_parameters
    if case.path == "/api/v1/needs/{id}/links" and case.method.upper() == "POST" and isinstance(params, dict):
        # A link's target is a task or interaction of the need's customer,
        # which the generator cannot know: the case goes to a need that does
        # not exist (links have their own tests).
        params["id"] = str(uuid.uuid4())
    if case.path == "/api/v1/customers/{id}/erase" and isinstance(params, dict):
        # Nobody is erased: an erased customer is deleted, and the fixture or
        # a customer a stateful link hands on would then be missing from every
        # later case (erasure has its own tests).
        params["id"] = str(uuid.uuid4())
    if (
        case.path == "/api/v1/customers/{id}"
        and case.method.upper() == "DELETE"
        and isinstance(params, dict)
        and params.get("id") == CUSTOMER_ID
    ):
        # The fixture stays: every later case refers to it.
        params["id"] = str(uuid.uuid4())


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    _path(case)
    if not _positive(case):
        return
    _headers(case)
    _query(case)
    _body(case)
