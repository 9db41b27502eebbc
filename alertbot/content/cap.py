"""A CAP 1.2 (OASIS Common Alerting Protocol, version 1.2) codec: frozen dataclasses, `loads`, `dumps`, `validate`.

`loads` takes a document from outside and either returns an `Alert` or raises `CapError` — never any other
exception, whatever the bytes. It refuses a document over `MAX_BYTES` before parsing, parses with defusedxml
with every DTD forbidden (so a billion-laughs or external-entity document is refused at its DOCTYPE), refuses
elements nested deeper than `MAX_DEPTH` while parsing, then reads the elements through the tables in
`_SCHEMA` and checks the CAP 1.2 rules with `validate`. Elements in the CAP namespace that CAP 1.2 does not
define are an error; elements in other namespaces (extensions, an XML signature) are ignored; element order
is not enforced on reading. Text is stripped of surrounding whitespace, and an empty optional element reads
as absent.

`dumps` validates, then writes UTF-8 XML with the elements in the schema's order. Date-times are the CAP
form, "2026-12-01T08:00:00+08:00": whole seconds, an explicit offset, UTC written "-00:00" as CAP 1.2
requires, never "Z".

A `CapError` names the element (a path such as "alert/info[2]/area[1]/polygon"; "alert" for the root,
"document" for size, XML and DTD problems) and the rule broken.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
MAX_BYTES = 512 * 1024  # documents larger are refused before parsing
MAX_DEPTH = 16  # element nesting deeper is refused

_OLD_NAMESPACES = {"urn:oasis:names:tc:emergency:cap:1.1": "1.1", "http://www.incident.com/cap/1.0": "1.0"}

STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
SCOPES = ("Public", "Restricted", "Private")
CATEGORIES = ("Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra", "CBRNE",
              "Other")  # fmt: skip
RESPONSE_TYPES = ("Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None")
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")
_LEGACY = {("certainty", "Very Likely"): "Likely"}  # CAP 1.0's value, still sent; accepted on loads only

_DATETIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)([+-])(\d\d):(\d\d)", re.ASCII)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
_LANGUAGE = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*", re.ASCII)  # RFC 3066 (xs:language)
_ID_FORBIDDEN = re.compile(r"[\s,<&]")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class CapError(ValueError):
    """A document (or an Alert built in code) that breaks a CAP 1.2 rule."""

    element: str  # where: a path like "alert/info[2]/area[1]/polygon"
    problem: str  # English, one sentence, naming the rule

    def __init__(self, element: str, problem: str) -> None:
        super().__init__(f"{element}: {problem}")
        self.element, self.problem = element, problem


@dataclass(frozen=True)
class Geocode:
    value_name: str
    value: str


@dataclass(frozen=True)
class Parameter:  # also used for eventCode
    value_name: str
    value: str


@dataclass(frozen=True)
class Reference:  # one "sender,identifier,sent" triple of <references>
    sender: str
    identifier: str
    sent: datetime


@dataclass(frozen=True)
class Resource:
    description: str
    mime_type: str
    uri: str | None = None
    size: int | None = None
    digest: str | None = None
    deref_uri: str | None = None  # the resource itself, base64, carried in the message


@dataclass(frozen=True)
class Area:
    description: str
    polygons: tuple[str, ...] = ()
    circles: tuple[str, ...] = ()
    geocodes: tuple[Geocode, ...] = ()
    altitude: float | None = None
    ceiling: float | None = None


@dataclass(frozen=True)
class Info:
    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    language: str = "en-US"
    response_types: tuple[str, ...] = ()
    audience: str | None = None
    event_codes: tuple[Parameter, ...] = ()
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: tuple[Parameter, ...] = ()
    resources: tuple[Resource, ...] = ()
    areas: tuple[Area, ...] = ()


@dataclass(frozen=True)
class Alert:
    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    source: str | None = None
    restriction: str | None = None
    addresses: str | None = None
    codes: tuple[str, ...] = ()
    note: str | None = None
    references: tuple[Reference, ...] = ()
    incidents: str | None = None
    infos: tuple[Info, ...] = ()


# ---- date-times ----


def format_datetime(value: datetime) -> str:
    """The CAP form of `value`: whole seconds and an explicit offset, UTC as "-00:00" (CAP 1.2, 3.3.2)."""
    offset = value.utcoffset() if isinstance(value, datetime) else None
    if offset is None:
        raise CapError("dateTime", "must carry a UTC offset: a naive date-time is not a CAP date-time")
    minutes, seconds = divmod(int(offset.total_seconds()), 60)
    if seconds or offset.microseconds:
        raise CapError("dateTime", "must have a UTC offset of whole minutes")
    sign = "-" if minutes <= 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{value.replace(microsecond=0, tzinfo=None).isoformat()}{sign}{hours:02d}:{minutes:02d}"


def parse_datetime(text: str, element: str) -> datetime:
    """A strict CAP date-time, "YYYY-MM-DDThh:mm:ss±hh:mm" (no fraction, no "Z"); CapError(element, ...) otherwise."""
    match = _DATETIME.fullmatch(text)
    if match is None:
        raise CapError(
            element, f"must be a CAP date-time like 2026-12-01T08:00:00+08:00 (UTC as -00:00, no Z), not {text[:40]!r}"
        )
    year, month, day, hour, minute, second, sign, off_hours, off_minutes = match.groups()
    try:
        offset = timedelta(hours=int(off_hours), minutes=int(off_minutes))
        if int(off_minutes) >= 60 or offset >= timedelta(hours=24):
            raise ValueError("offset out of range")
        zone = timezone(-offset if sign == "-" else offset)
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=zone)
    except ValueError:
        raise CapError(element, f"is not a real date and time: {text!r}") from None


# ---- rules of single values ----


def _check_text(value: object, path: str, may_be_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise CapError(path, f"must be text, not {type(value).__name__}")
    if not may_be_empty and not value.strip():
        raise CapError(path, "must not be empty")
    if _NOT_XML.search(value):
        raise CapError(path, "contains a control character that XML cannot carry")
    return value


def _check_id(value: object, path: str) -> None:
    if _ID_FORBIDDEN.search(text := _check_text(value, path)):
        raise CapError(path, f"must not contain spaces, commas, '<' or '&' (CAP 1.2, 3.2.1): {text[:80]!r}")


def _check_time(value: object, path: str) -> None:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise CapError(path, "must be a datetime with a UTC offset: a naive date-time is not a CAP date-time")
    format_datetime(value)  # an offset of whole minutes


def _check_language(value: str, path: str) -> None:
    if not _LANGUAGE.fullmatch(value):
        raise CapError(path, f"must be an RFC 3066 language tag such as en-US, not {value[:40]!r}")


def _check_polygon(polygon: str, path: str) -> None:
    points = [_point(pair, path) for pair in polygon.split()]
    if len(points) < 4:
        raise CapError(path, f"must have at least 4 space-separated lat,lon points, not {len(points)}")
    if points[0] != points[-1]:
        raise CapError(path, "is not closed: its first and last points must be the same")


def _check_circle(circle: str, path: str) -> None:
    parts = circle.split()
    if len(parts) != 2:
        raise CapError(path, f"must be 'lat,lon radius', not {circle[:80]!r}")
    _point(parts[0], path)
    if _number(parts[1], path, "must end in a radius in kilometres, a number") < 0:
        raise CapError(path, "must have a radius of 0 or more")


def _point(pair: str, path: str) -> tuple[Decimal, Decimal]:
    parts = pair.split(",")
    problem = f"must be made of lat,lon points (WGS 84 decimal degrees), not {pair[:40]!r}"
    if len(parts) != 2:
        raise CapError(path, problem)
    lat, lon = _number(parts[0], path, problem), _number(parts[1], path, problem)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise CapError(path, f"has a point off the globe: {pair!r} (latitude -90..90, longitude -180..180)")
    return lat, lon


def _number(text: str, path: str, problem: str) -> Decimal:
    if not _NUMBER.fullmatch(text):
        raise CapError(path, problem)
    return Decimal(text)


# ---- the schema: each container's elements in CAP 1.2 order ----

_TEXT, _DATE, _DECIMAL, _INT, _REFS = "text", "dateTime", "decimal", "integer", "references"


@dataclass(frozen=True)
class _Element:
    tag: str  # the CAP element name
    attr: str  # the dataclass field
    kind: str | type = _TEXT  # a simple kind, or the dataclass of a container element
    required: bool = False
    many: bool = False
    may_be_empty: bool = False
    rule: tuple[str, ...] | Callable[[str, str], None] | None = None  # the allowed values, or a check of the text


_E = _Element
_PAIR = (_E("valueName", "value_name", required=True), _E("value", "value", required=True, may_be_empty=True))
_SCHEMA: dict[type, tuple[_Element, ...]] = {
    Alert: (
        _E("identifier", "identifier", required=True, rule=_check_id),
        _E("sender", "sender", required=True, rule=_check_id),
        _E("sent", "sent", _DATE, required=True),
        _E("status", "status", required=True, rule=STATUSES),
        _E("msgType", "msg_type", required=True, rule=MSG_TYPES),
        _E("source", "source"),
        _E("scope", "scope", required=True, rule=SCOPES),
        _E("restriction", "restriction"), _E("addresses", "addresses"), _E("code", "codes", many=True),
        _E("note", "note"), _E("references", "references", _REFS), _E("incidents", "incidents"),
        _E("info", "infos", Info, many=True),
    ),
    Info: (
        _E("language", "language", rule=_check_language),
        _E("category", "categories", required=True, many=True, rule=CATEGORIES),
        _E("event", "event", required=True),
        _E("responseType", "response_types", many=True, rule=RESPONSE_TYPES),
        _E("urgency", "urgency", required=True, rule=URGENCIES),
        _E("severity", "severity", required=True, rule=SEVERITIES),
        _E("certainty", "certainty", required=True, rule=CERTAINTIES),
        _E("audience", "audience"), _E("eventCode", "event_codes", Parameter, many=True),
        _E("effective", "effective", _DATE), _E("onset", "onset", _DATE), _E("expires", "expires", _DATE),
        _E("senderName", "sender_name"), _E("headline", "headline"), _E("description", "description"),
        _E("instruction", "instruction"), _E("web", "web"), _E("contact", "contact"),
        _E("parameter", "parameters", Parameter, many=True), _E("resource", "resources", Resource, many=True),
        _E("area", "areas", Area, many=True),
    ),
    Resource: (
        _E("resourceDesc", "description", required=True), _E("mimeType", "mime_type", required=True),
        _E("size", "size", _INT), _E("uri", "uri"), _E("derefUri", "deref_uri"), _E("digest", "digest"),
    ),
    Area: (
        _E("areaDesc", "description", required=True), _E("polygon", "polygons", many=True, rule=_check_polygon),
        _E("circle", "circles", many=True, rule=_check_circle), _E("geocode", "geocodes", Geocode, many=True),
        _E("altitude", "altitude", _DECIMAL), _E("ceiling", "ceiling", _DECIMAL),
    ),
    Parameter: _PAIR,
    Geocode: _PAIR,
}  # fmt: skip


# ---- loads ----


class _TooDeep(Exception):
    pass


class _DepthLimitedBuilder(ET.TreeBuilder):
    """Builds the tree, but stops the parse at the first element nested deeper than MAX_DEPTH."""

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0

    def start(self, tag: Any, attrs: Any) -> ET.Element:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _TooDeep
        return super().start(tag, attrs)

    def end(self, tag: Any) -> ET.Element:
        self._depth -= 1
        return super().end(tag)


def loads(data: bytes | str) -> Alert:
    """Parse and validate one CAP 1.2 document; raises CapError only, whatever the input."""
    root = _parse(data)
    if root.tag != f"{{{NAMESPACE}}}alert":
        namespace, _, name = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
        if name == "alert" and namespace in _OLD_NAMESPACES:
            raise CapError("alert", f"CAP {_OLD_NAMESPACES[namespace]} is not supported; send CAP 1.2")
        raise CapError("document", f"the root element must be <alert> in the namespace {NAMESPACE}")
    alert = _read(root, Alert, "alert")
    validate(alert)
    return alert


def _parse(data: bytes | str) -> ET.Element:
    if isinstance(data, bytearray | memoryview):
        data = bytes(data)
    if not isinstance(data, bytes | str):
        raise CapError("document", f"must be bytes or str, not {type(data).__name__}")
    size = len(data) if isinstance(data, bytes) or len(data) > MAX_BYTES else len(data.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise CapError("document", f"is {size} bytes, more than the {MAX_BYTES} a CAP document may have here")
    parser = DefusedXMLParser(
        target=_DepthLimitedBuilder(), forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(data)
        return parser.close()
    except _TooDeep:
        raise CapError("document", f"elements nest deeper than {MAX_DEPTH} levels") from None
    except DefusedXmlException:
        raise CapError("document", "a DTD (<!DOCTYPE>) or entity declaration is not allowed in CAP") from None
    except ET.ParseError as error:
        line, column = error.position
        raise CapError("document", f"not well-formed XML: line {line}, column {column}") from None
    except (ValueError, LookupError, UnicodeError) as error:  # an unknown encoding, a lone surrogate in a str
        raise CapError("document", f"not readable XML: {error}") from None


_T = TypeVar("_T")


def _read(node: ET.Element, cls: type[_T], path: str) -> _T:
    """One container element into `cls`, through its row of `_SCHEMA`."""
    schema = _SCHEMA[cls]
    parent = node.tag.rpartition("}")[2]
    by_tag = {element.tag: element for element in schema}
    values: dict[str, list[object]] = {}
    counts: dict[str, int] = {}
    for child in node:
        namespace, _, tag = child.tag[1:].partition("}") if child.tag.startswith("{") else ("", "", child.tag)
        if namespace != NAMESPACE:
            continue  # an extension (another namespace), ignored
        element = by_tag.get(tag)
        if element is None:
            raise CapError(f"{path}/{tag}", f"is not an element of <{parent}> in CAP 1.2")
        counts[tag] = count = counts.get(tag, 0) + 1
        if count > 1 and not element.many:
            raise CapError(f"{path}/{tag}", "may appear only once")
        nested = isinstance(element.kind, type)
        value = _read_value(child, element, f"{path}/{tag}[{count}]" if nested and element.many else f"{path}/{tag}")
        if value is not None:
            values.setdefault(element.attr, []).append(value)
    fields: dict[str, object] = {}
    for element in schema:
        found = values.get(element.attr, [])
        if element.required and not found:
            raise CapError(f"{path}/{element.tag}", "is required")
        if element.many:
            fields[element.attr] = tuple(found)
        elif found:
            fields[element.attr] = found[0]
    return cls(**fields)


def _read_value(node: ET.Element, element: _Element, path: str) -> object:
    if isinstance(element.kind, type):
        return _read(node, element.kind, path)
    if len(node):
        raise CapError(path, "must hold text, not elements")
    text = (node.text or "").strip()
    if not text:
        if element.may_be_empty:
            return ""
        if element.required and not element.many:
            raise CapError(path, "must not be empty")
        return None  # an empty optional element is as good as absent
    text = _LEGACY.get((element.tag, text), text)
    if element.kind == _DATE:
        return parse_datetime(text, path)
    if element.kind == _DECIMAL:
        return float(_number(text, path, "must be a decimal number"))
    if element.kind == _INT:
        if not _INTEGER.fullmatch(text):
            raise CapError(path, "must be a whole number")
        return int(text)
    if element.kind == _REFS:
        return tuple(_read_reference(triple, path) for triple in text.split())
    return text


def _read_reference(triple: str, path: str) -> Reference:
    parts = triple.split(",")
    if len(parts) != 3:
        raise CapError(path, f"each reference must be sender,identifier,sent — not {triple[:80]!r}")
    return Reference(parts[0], parts[1], parse_datetime(parts[2], path))


# ---- validate ----


def validate(alert: Alert) -> None:
    """Raise CapError for the first CAP 1.2 rule `alert` breaks (checked in the schema's order)."""
    _check(alert, Alert, "alert")


def _check(obj: object, cls: type, path: str) -> None:
    """One container against its row of `_SCHEMA`, then the rules that tie its elements together."""
    if not isinstance(obj, cls):
        raise CapError(path, f"must be {'an' if cls.__name__[0] in 'AEIOU' else 'a'} {cls.__name__}")
    for element in _SCHEMA[cls]:
        value = getattr(obj, element.attr)
        items = value if element.many or element.kind == _REFS else () if value is None else (value,)
        if element.required and not items:
            raise CapError(f"{path}/{element.tag}", "is required")
        for number, item in enumerate(items, 1):
            if isinstance(element.kind, type):
                _check(item, element.kind, f"{path}/{element.tag}" + (f"[{number}]" if element.many else ""))
            else:
                _check_value(item, element, f"{path}/{element.tag}")
    for rule in _RULES.get(cls, ()):
        rule(obj, path)


def _check_value(value: object, element: _Element, path: str) -> None:
    if element.kind == _DATE:
        _check_time(value, path)
    elif element.kind == _DECIMAL:
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            raise CapError(path, "must be a number")
    elif element.kind == _INT:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise CapError(path, "must be a whole number, 0 or more")
    elif element.kind == _REFS:
        if not isinstance(value, Reference):
            raise CapError(path, "must hold Reference triples")
        _check_id(value.sender, path)
        _check_id(value.identifier, path)
        _check_time(value.sent, path)
    else:
        text = _check_text(value, path, element.may_be_empty)
        if isinstance(element.rule, tuple) and text not in element.rule:
            raise CapError(path, f"must be one of {', '.join(element.rule)}")
        if callable(element.rule):
            element.rule(text, path)


def _alert_rules(alert: Alert, path: str) -> None:
    for tag, value, scope in (
        ("restriction", alert.restriction, "Restricted"),
        ("addresses", alert.addresses, "Private"),
    ):
        if alert.scope == scope and value is None:
            raise CapError(f"{path}/{tag}", f"is required when scope is {scope}")
    if alert.msg_type in ("Update", "Cancel", "Ack", "Error") and not alert.references:
        raise CapError(
            f"{path}/references",
            f"is required when msgType is {alert.msg_type}: name an earlier message as sender,identifier,sent",
        )


def _area_rules(area: Area, path: str) -> None:
    if area.ceiling is not None and area.altitude is None:
        raise CapError(f"{path}/ceiling", "may only be given together with altitude")


_RULES: dict[type, tuple[Callable[[Any, str], None], ...]] = {Alert: (_alert_rules,), Area: (_area_rules,)}


# ---- dumps ----


def dumps(alert: Alert) -> bytes:
    """Validate `alert`, then write it: UTF-8 XML with a declaration, CAP 1.2's namespace and element order."""
    validate(alert)
    root = ET.Element("alert", {"xmlns": NAMESPACE})
    _write(root, alert)
    ET.indent(root, space="  ")
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False) + b"\n"
    )


def _write(parent: ET.Element, obj: object) -> None:
    for element in _SCHEMA[type(obj)]:
        value = getattr(obj, element.attr)
        if not element.many:
            value = () if value is None or value == () else (value,)
        for item in value:
            child = ET.SubElement(parent, element.tag)
            if isinstance(element.kind, type):
                _write(child, item)
            else:
                child.text = _text(item, element.kind)


def _text(value: Any, kind: str | type) -> str:
    if kind == _DATE:
        return format_datetime(value)
    if kind == _DECIMAL:
        return format(Decimal(repr(float(value))), "f")
    if kind == _REFS:
        return " ".join(f"{ref.sender},{ref.identifier},{format_datetime(ref.sent)}" for ref in value)
    return str(value)
