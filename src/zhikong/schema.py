"""Every table of the platform, gathered into one metadata (for Alembic and the drift test).

This sits in the composition layer because it imports every domain's models. Running the
migrations needs none of it; autogenerating a revision hands `metadata` to Alembic (see
`store/migrations/env.py`), and the drift test compares it with a migrated database.
"""

from __future__ import annotations

from zhikong.audit import models as _audit_models  # noqa: F401
from zhikong.auth import models as _auth_models  # noqa: F401
from zhikong.code import models as _code_models  # noqa: F401
from zhikong.index import models as _index_models  # noqa: F401
from zhikong.regions import models as _region_models  # noqa: F401
from zhikong.residents import models as _resident_models  # noqa: F401
from zhikong.riskmap import models as _risk_map_models  # noqa: F401
from zhikong.rules import models as _rule_models  # noqa: F401
from zhikong.store import meta as _meta  # noqa: F401
from zhikong.store.base import Base
from zhikong.trace import models as _trace_models  # noqa: F401

metadata = Base.metadata
