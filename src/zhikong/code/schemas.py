"""API shapes of the health code (GB/T 38962 declaration fields, events, codes, appeals)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Colour = Literal["green", "yellow", "orange", "red"]
RegionCode = str
REGION_PATTERN = r"^[A-Za-z0-9-]{1,32}$"
REQUEST_ID = Field(
    min_length=8,
    max_length=64,
    pattern=r"^[A-Za-z0-9._:-]+$",
    description="Client-generated id: sending the same request again changes nothing",
)
SYMPTOMS = (
    "fever",
    "cough",
    "sore_throat",
    "shortness_of_breath",
    "fatigue",
    "nasal_congestion",
    "diarrhoea",
    "loss_of_smell_or_taste",
)
RESPIRATORY = frozenset({"cough", "sore_throat", "shortness_of_breath", "nasal_congestion"})
CONDITIONS = (
    "hypertension",
    "diabetes",
    "heart_disease",
    "lung_disease",
    "immunodeficiency",
    "pregnancy",
    "other",
)


class TripIn(BaseModel):
    """A place the person stayed in the last 14 days (a region code, or overseas)."""

    model_config = ConfigDict(extra="forbid")

    region_code: str | None = Field(
        default=None, pattern=REGION_PATTERN, description="Region visited; omit when overseas"
    )
    overseas: bool = Field(default=False, description="海外地区 · overseas")
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2,3}$", description="ISO 3166 code")
    arrived_on: date
    left_on: date


class ContactHistory(BaseModel):
    """Contact in the last 14 days."""

    model_config = ConfigDict(extra="forbid")

    confirmed_or_suspected: bool = Field(
        description="与确诊或疑似病例有过接触 · contact with a confirmed or suspected case"
    )
    fever_or_respiratory: bool = Field(
        default=False,
        description="与发热或呼吸道症状者接触 · contact with people with fever or cough",
    )


class DeclarationCreate(BaseModel):
    """A self-declaration (申领) with the GB/T 38962 data elements."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "client_request_id": "decl-2020-02-12-0001",
                    "relation": "self",
                    "name": "张三",
                    "sex": "M",
                    "nationality": "CHN",
                    "id_type": "cn-resident",
                    "id_number": "330102199003070027",
                    "birth_date": "1990-03-07",
                    "household_region": "330102",
                    "address_region": "330102",
                    "phone": "13812341234",
                    "underlying_conditions": [],
                    "temperature": 36.5,
                    "symptoms": [],
                    "trips": [
                        {
                            "region_code": "330106",
                            "arrived_on": "2020-02-05",
                            "left_on": "2020-02-06",
                        }
                    ],
                    "contact_history": {"confirmed_or_suspected": False},
                    "pledge": True,
                }
            ]
        },
    )

    client_request_id: str = REQUEST_ID
    relation: Literal["self", "dependant"] = Field(
        default="self", description="self, or a dependant (代办) whose code this account holds"
    )
    consent: str | None = Field(
        default=None,
        max_length=500,
        description="For a dependant: how the person (or guardian) consented",
    )
    name: str = Field(min_length=1, max_length=64)
    sex: Literal["F", "M"]
    nationality: str = Field(pattern=r"^[A-Z]{3}$", description="GB/T 2659 three-letter code")
    id_type: str
    id_number: str = Field(min_length=5, max_length=32)
    birth_date: date
    household_region: str | None = Field(default=None, pattern=REGION_PATTERN)
    address_region: str = Field(pattern=REGION_PATTERN, description="County (or finer) lived in")
    phone: str = Field(pattern=r"^\+?\d{6,15}$")
    underlying_conditions: list[str] = Field(default_factory=list, max_length=10)
    temperature: float = Field(ge=30.0, le=45.0, description="°C, 30–45")
    symptoms: list[str] = Field(default_factory=list, max_length=10)
    trips: list[TripIn] = Field(default_factory=list, max_length=30)
    contact_history: ContactHistory
    pledge: Literal[True] = Field(description="承诺如实申报 · I declare this is true")

    @field_validator("symptoms")
    @classmethod
    def _known_symptoms(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(SYMPTOMS))
        if unknown:
            raise ValueError(f"unknown symptom(s) {unknown}; known: {', '.join(SYMPTOMS)}")
        return sorted(set(value))

    @field_validator("underlying_conditions")
    @classmethod
    def _known_conditions(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(CONDITIONS))
        if unknown:
            raise ValueError(f"unknown condition(s) {unknown}; known: {', '.join(CONDITIONS)}")
        return sorted(set(value))


class TripDeclaration(BaseModel):
    """A trip declaration (行程申报) for a resident already holding a code."""

    model_config = ConfigDict(extra="forbid")

    client_request_id: str = REQUEST_ID
    trips: list[TripIn] = Field(min_length=1, max_length=30)


class CheckinCreate(BaseModel):
    """A daily health check-in (健康打卡)."""

    model_config = ConfigDict(extra="forbid")

    client_request_id: str = REQUEST_ID
    temperature: float = Field(ge=30.0, le=45.0, description="°C, 30–45")
    symptoms: list[str] = Field(default_factory=list, max_length=10)

    @field_validator("symptoms")
    @classmethod
    def _known_symptoms(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(SYMPTOMS))
        if unknown:
            raise ValueError(f"unknown symptom(s) {unknown}; known: {', '.join(SYMPTOMS)}")
        return sorted(set(value))


OfficerEventKind = Literal[
    "case_report",
    "case_closed",
    "test_result",
    "close_contact",
    "secondary_contact",
    "co_presence",
    "quarantine_start",
    "quarantine_end",
    "false_declaration",
]


class EventCreate(BaseModel):
    """An event reported by a health officer about a resident."""

    model_config = ConfigDict(extra="forbid")

    client_request_id: str = REQUEST_ID
    kind: OfficerEventKind
    occurred_at: datetime | None = Field(default=None, description="Default: now; never future")
    case_status: Literal["confirmed", "suspected", "asymptomatic"] | None = Field(
        default=None, description="For case_report"
    )
    outcome: Literal["recovered", "excluded"] | None = Field(
        default=None, description="For case_closed"
    )
    result: Literal["positive", "negative"] | None = Field(
        default=None, description="For test_result"
    )
    note: str | None = Field(default=None, max_length=500)


class OverrideCreate(BaseModel):
    """A manual colour with its legal basis and expiry (audited)."""

    model_config = ConfigDict(extra="forbid")

    client_request_id: str = REQUEST_ID
    colour: Colour
    until: datetime = Field(description="Expiry; at most 30 days ahead")
    legal_basis: str = Field(min_length=10, max_length=500, description="The law and article")


class AppealCreate(BaseModel):
    """A challenge to a colour or to data (申诉/纠错, GB/T 38963 correction interface)."""

    model_config = ConfigDict(extra="forbid")

    client_request_id: str = REQUEST_ID
    kind: Literal["colour", "data"]
    text: str = Field(min_length=5, max_length=2000)
    evidence: str | None = Field(default=None, max_length=4000)
    event_ids: list[int] = Field(
        default_factory=list, max_length=20, description="Events contested"
    )


class AppealDecision(BaseModel):
    """An officer's decision on an appeal."""

    model_config = ConfigDict(extra="forbid")

    upheld: bool
    decision: str = Field(min_length=5, max_length=2000)
    void_event_ids: list[int] = Field(
        default_factory=list, max_length=20, description="Events found wrong (upheld appeals)"
    )


class RegionRiskCreate(BaseModel):
    """A region's risk level changes: everyone who was there within the window is recoloured."""

    model_config = ConfigDict(extra="forbid")

    region_code: str = Field(pattern=REGION_PATTERN)
    level: Literal["low", "medium", "high"]
    window_days: int = Field(default=14, ge=1, le=28)
    basis: str = Field(min_length=5, max_length=500)


class ReasonRead(BaseModel):
    """One event behind a colour."""

    event_id: int
    kind: str
    at: datetime
    demanded: str
    text: dict[str, str] = Field(description="Plain-language reason, zh and en")


class CodeRead(BaseModel):
    """A resident's current health code."""

    resident_id: int
    colour: str
    since: datetime
    masked_name: str | None
    profile: str
    rule_version: str
    decided_at: datetime
    progress: dict[str, Any] | None
    override_until: datetime | None


class WhyRead(BaseModel):
    """Why a code has its colour and how it changes (only this person's data)."""

    resident_id: int
    colour: str
    since: datetime
    rule_id: str
    rule_version: str
    summary: dict[str, str]
    reasons: list[ReasonRead]
    next_step: dict[str, str] | None
    override: dict[str, Any] | None


class DeclarationResult(BaseModel):
    """The outcome of a declaration: the declaration id and the code computed at once."""

    declaration_id: int
    resident_id: int
    code: CodeRead
    replayed: bool = Field(description="True when this request id was seen before")


class EventResult(BaseModel):
    """An event stored and the code after it."""

    event_id: int
    code: CodeRead
    replayed: bool


class AppealRead(BaseModel):
    """An appeal and where it stands."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    resident_id: int
    county_code: str
    kind: str
    text: str
    evidence: str | None
    event_ids: list[int]
    submitted_at: datetime
    deadline_at: datetime
    overdue: bool = False
    status: str
    decided_at: datetime | None
    decision: str | None


class RegionRiskResult(BaseModel):
    """What a region's risk change did."""

    designation_id: int
    region_code: str
    level: str
    affected: int
    recoloured: int


class HeldCode(BaseModel):
    """A code the signed-in account holds (its own or a dependant's)."""

    relation: str
    code: CodeRead


class ColourCount(BaseModel):
    """How many codes of each colour a region has."""

    region_code: str
    counts: dict[str, int]
    total: int


class QuarantineRead(BaseModel):
    """A resident currently in quarantine (masked data only)."""

    resident_id: int
    masked_name: str | None
    county_code: str
    since: datetime
    days: int = Field(description="whole days in quarantine so far")
    colour: str | None = Field(description="current health-code colour, if any")
