"""The CondDB tables SpyAgency reads, as in the Oracle schema CMS_CONDITIONS.

Identical table and column names are used in SQLite files, so one definition
serves the production reader (``oracle+oracledb://``), local files and the
simulator that writes them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
)

metadata = MetaData()

TAG = Table(
    "TAG", metadata,
    Column("NAME", String(100), primary_key=True),
    Column("TIME_TYPE", String(4), nullable=False),
    Column("OBJECT_TYPE", String(100), nullable=False),
    Column("SYNCHRONIZATION", String(20), nullable=False),
    Column("DESCRIPTION", String(4000), nullable=False),
    Column("LAST_VALIDATED_TIME", BigInteger, nullable=False),
    Column("END_OF_VALIDITY", BigInteger, nullable=False),
    Column("INSERTION_TIME", DateTime, nullable=False),
    Column("MODIFICATION_TIME", DateTime, nullable=False),
    Column("PROTECTION_CODE", Integer, nullable=False, default=0),
)

PAYLOAD = Table(
    "PAYLOAD", metadata,
    Column("HASH", String(40), primary_key=True),
    Column("OBJECT_TYPE", String(100), nullable=False),
    Column("DATA", LargeBinary, nullable=False),
    Column("STREAMER_INFO", LargeBinary, nullable=False),
    Column("VERSION", String(20), nullable=False),
    Column("INSERTION_TIME", DateTime, nullable=False),
)

IOV = Table(
    "IOV", metadata,
    Column("TAG_NAME", String(100), ForeignKey("TAG.NAME"), primary_key=True),
    Column("SINCE", BigInteger, primary_key=True),
    Column("INSERTION_TIME", DateTime, primary_key=True),
    Column("PAYLOAD_HASH", String(40), ForeignKey("PAYLOAD.HASH"), nullable=False),
)
# Like the CondDB API, no index but the primary key: readers must go by TAG_NAME + SINCE ranges.

GLOBAL_TAG = Table(
    "GLOBAL_TAG", metadata,
    Column("NAME", String(100), primary_key=True),
    Column("VALIDITY", BigInteger, nullable=False),
    Column("DESCRIPTION", String(4000), nullable=False),
    Column("RELEASE", String(100), nullable=False),
    Column("INSERTION_TIME", DateTime, nullable=False),
    Column("SNAPSHOT_TIME", DateTime, nullable=False),
)

GLOBAL_TAG_MAP = Table(
    "GLOBAL_TAG_MAP", metadata,
    Column("GLOBAL_TAG_NAME", String(100), ForeignKey("GLOBAL_TAG.NAME"), primary_key=True),
    Column("RECORD", String(100), primary_key=True),
    Column("LABEL", String(100), primary_key=True),
    Column("TAG_NAME", String(100), ForeignKey("TAG.NAME"), nullable=False),
)

TAG_LOG = Table(
    "TAG_LOG", metadata,
    Column("TAG_NAME", String(100), ForeignKey("TAG.NAME"), nullable=False),
    Column("EVENT_TIME", DateTime, nullable=False),
    Column("USER_NAME", String(100), nullable=False),
    Column("HOST_NAME", String(100), nullable=False),
    Column("COMMAND", String(500), nullable=False),
    Column("ACTION", String(100), nullable=False),
    Column("USER_TEXT", String(4000), nullable=False),
)

RUN_INFO = Table(
    "RUN_INFO", metadata,
    Column("RUN_NUMBER", Integer, primary_key=True),
    Column("START_TIME", DateTime, nullable=False),
    Column("END_TIME", DateTime, nullable=True),
)
