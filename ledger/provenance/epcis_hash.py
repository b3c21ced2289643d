"""The EPCIS event hash of GS1 CBV 2.0 section 8.9 (the "EPCIS Event Hash ID") for JSON-LD.

    event_prehash(event, context)  the canonical pre-hash string of one event
    event_hash(event, context)     "ni:///sha-256;" + hex(SHA-256(UTF-8 pre-hash)) + "?ver=CBV2.0"
    document_event_hashes(doc)     the hashes of a document's events, in document order

The pre-hash string follows the reference implementation RalphTro/epcis-event-hash-generator
(the vectors in tests/vectors/epcis/event-hash are its output):

- ``eventType=<type>``, then the fields of the canonical property order (``_EVENT_ORDER``),
  each ``name=value``, parents as ``name`` followed by their children, with no separators;
  repeated fields (list members) are sorted by their rendered strings.
- Everything not in the order (``bizTransactionList``, ``sourceList``, ``destinationList``,
  ``ilmd``, user extensions) follows, rendered generically and sorted. ``eventID``,
  ``recordTime``, ``errorDeclaration`` and comments never take part.
- User extensions nested in an ordered field (``readPoint``, ``sensorElement``, ...) come at
  the end of that field. Extension names are ``{namespace}local``, with the prefixes declared
  in the document's ``@context`` (and the EPCIS context's ``gs1``, ``cbv``, ``epcis``,
  ``cbvmda``) expanded; CURIE values are expanded the same way.
- Values: whitespace trimmed; CBV bare terms (``shipping``) and ``urn:epcglobal:cbv:`` URNs
  become ``https://ref.gs1.org/cbv/...`` (or ``https://gs1.org/voc/...``) URIs; numbers lose
  leading/trailing zeros (``26.0`` -> ``26``); EPC URNs and GS1 Digital Link URIs become the
  constrained canonical Digital Link (``https://id.gs1.org/...``, no query string, lowest
  identification level; see ``ledger.codes.epc``); timestamps become UTC with milliseconds
  (``...T10:00:30.000Z``, rounding half to even as the reference does).

Where the reference depends on JSON key order, machine time zone or crashes, this module
chooses the rule the standard states, so valid events hash identically: a list entry's
``type`` always precedes its identifier; a timestamp must carry a UTC offset; a timestamp
that rounds up to the next second carries over. Input is untrusted: sizes and nesting are
bounded and every problem raises InvalidInput with ``code="invalid_epcis"``.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from ledger.codes.epc import canonical_epc
from ledger.errors import InvalidInput, LimitExceeded

__all__ = [
    "MAX_DEPTH",
    "MAX_EVENTS",
    "MAX_STRING",
    "MAX_VALUES",
    "document_event_hashes",
    "document_event_prehashes",
    "event_hash",
    "event_prehash",
]

MAX_DEPTH = 16  # nesting of objects and arrays inside one event
MAX_VALUES = 10_000  # JSON values (objects, arrays, scalars) in one event
MAX_STRING = 65_536  # characters in one key or string value
MAX_EVENTS = 10_000  # events in one document
_CODE = "invalid_epcis"

# --- The canonical property order (CBV 2.0 section 8.9, as the reference orders it) -----

_Order = tuple[tuple[str, "_Order | None"], ...]
_EPCS: _Order = (("epc", None),)
_QUANTITY: _Order = (("quantityElement", (("epcClass", None), ("quantity", None), ("uom", None))),)
_ID: _Order = (("id", None),)


def _leaves(words: str) -> _Order:
    return tuple((word, None) for word in words.split())


_SENSOR_METADATA = _leaves(
    "time startTime endTime deviceID deviceMetadata rawData dataProcessingMethod bizRules"
)
_SENSOR_REPORT = _leaves(
    "type exception deviceID deviceMetadata rawData dataProcessingMethod time microorganism "
    "chemicalSubstance value component stringValue booleanValue hexBinaryValue uriValue minValue "
    "maxValue meanValue sDev percRank percValue uom coordinateReferenceSystem"
)
_EVENT_ORDER: _Order = (
    ("eventTime", None),
    ("eventTimeZoneOffset", None),
    ("certificationInfo", None),
    ("parentID", None),
    ("epcList", _EPCS),
    ("inputEPCList", _EPCS),
    ("childEPCs", _EPCS),
    ("quantityList", _QUANTITY),
    ("childQuantityList", _QUANTITY),
    ("inputQuantityList", _QUANTITY),
    ("outputEPCList", _EPCS),
    ("outputQuantityList", _QUANTITY),
    ("action", None),
    ("transformationID", None),
    ("bizStep", None),
    ("disposition", None),
    ("persistentDisposition", (("set", None), ("unset", None))),
    ("readPoint", _ID),
    ("bizLocation", _ID),
    (
        "sensorElementList",
        (
            (
                "sensorElement",
                (("sensorMetadata", _SENSOR_METADATA), ("sensorReport", _SENSOR_REPORT)),
            ),
        ),
    ),
)
_TIME_FIELDS = frozenset({"eventTime", "time", "startTime", "endTime"})
_NEVER_HASHED = frozenset({"eventID", "recordTime", "type", "errorDeclaration"})
_NOT_DATA = frozenset({"#text", "rdfs:comment", "comment"})
# Lists whose entries render ``type=...`` before their identifier, entries sorted as wholes.
_TYPED_LISTS = frozenset({"bizTransactionList", "sourceList", "destinationList"})
_UNSORTED_NAMES = frozenset({"bizTransaction", "source", "destination"})

# --- CBV vocabularies: bare terms as the EPCIS 2.0 JSON-LD context defines them ----------

_CBV = "https://ref.gs1.org/cbv/"
_VOC = "https://gs1.org/voc/"


def _terms(prefix: str, words: str) -> tuple[str, frozenset[str]]:
    return prefix, frozenset(words.split())


_BIZ_STEP = _terms(
    _CBV + "BizStep-",
    "accepting arriving assembling collecting commissioning consigning creating_class_instance "
    "cycle_counting decommissioning departing destroying disassembling dispensing encoding "
    "entering_exiting holding inspecting installing killing loading other packing picking "
    "receiving removing repackaging repairing replacing reserving retail_selling sampling "
    "sensor_reporting shipping staging_outbound stock_taking stocking storing transporting "
    "unloading unpacking void_shipping",
)
_DISPOSITION = _terms(
    _CBV + "Disp-",
    "active available completeness_verified completeness_inferred conformant container_closed "
    "container_open damaged destroyed dispensed disposed encoded expired in_progress in_transit "
    "inactive mismatch_instance mismatch_class mismatch_quantity needs_replacement "
    "no_pedigree_match non_conformant non_sellable_other partially_dispensed recalled reserved "
    "retail_sold returned sellable_accessible sellable_not_accessible stolen unavailable unknown",
)
_MEASUREMENT = _terms(
    _VOC,
    "AbsoluteHumidity AbsorbedDose AbsorbedDoseRate Acceleration Radioactivity Altitude "
    "AmountOfSubstance AmountOfSubstancePerUnitVolume Angle AngularAcceleration AngularMomentum "
    "AngularVelocity Area Capacitance Conductance Conductivity Count Density Dimensionless "
    "DoseEquivalent DoseEquivalentRate DynamicViscosity ElectricCharge ElectricCurrent "
    "ElectricCurrentDensity ElectricFieldStrength Energy Exposure Force Frequency Illuminance "
    "Inductance Irradiance KinematicViscosity Length LinearMomentum Luminance LuminousFlux "
    "LuminousIntensity MagneticFlux MagneticFluxDensity MagneticVectorPotential Mass "
    "MassConcentration MassFlowRate MassPerAreaTime MemoryCapacity MolalityOfSolute MolarEnergy "
    "MolarMass MolarVolume Power Pressure RadiantFlux RadiantIntensity RelativeHumidity "
    "Resistance Resistivity SolidAngle SpecificVolume Speed SurfaceDensity SurfaceTension "
    "Temperature Time Torque Voltage Volume VolumeFlowRate VolumeFraction VolumetricFlux "
    "Wavenumber",
)
_GLOBAL_VOCAB = {"bizStep": _BIZ_STEP, "disposition": _DISPOSITION}
# JSON-LD scoped contexts: the scope a key opens, and the @vocab-typed terms inside a scope.
_SCOPE_OF_KEY = {
    ("event", "persistentDisposition"): "persistentDisposition",
    ("event", "bizTransactionList"): "bizTransaction",
    ("event", "sourceList"): "sourceOrDestination",
    ("event", "destinationList"): "sourceOrDestination",
    ("event", "sensorElementList"): "sensorElement",
    ("event", "errorDeclaration"): "errorDeclaration",
    ("sensorElement", "sensorReport"): "sensorReport",
}
_SCOPED_VOCAB = {
    "persistentDisposition": {"set": _DISPOSITION, "unset": _DISPOSITION},
    "bizTransaction": {
        "type": _terms(
            _CBV + "BTT-",
            "bol cert desadv inv pedigree po poc prodorder recadv rma testprd testres upevt",
        )
    },
    "sourceOrDestination": {
        "type": _terms(_CBV + "SDT-", "owning_party possessing_party location")
    },
    "sensorReport": {
        "type": _MEASUREMENT,
        "exception": _terms(_VOC, "ALARM_CONDITION ERROR_CONDITION"),
        "component": _terms(
            _CBV + "Comp-",
            "x y z axial_distance azimuth height spherical_radius polar_angle elevation_angle "
            "easting northing latitude longitude altitude",
        ),
    },
    "errorDeclaration": {"reason": _terms(_CBV + "ER-", "did_not_occur incorrect_data")},
}
_CBV_URNS = (
    ("urn:epcglobal:cbv:bizstep:", _CBV + "BizStep-"),
    ("urn:epcglobal:cbv:disp:", _CBV + "Disp-"),
    ("urn:epcglobal:cbv:btt:", _CBV + "BTT-"),
    ("urn:epcglobal:cbv:sdt:", _CBV + "SDT-"),
    ("urn:epcglobal:cbv:er:", _CBV + "ER-"),
)
# Prefixes of the EPCIS 2.0 context that CBV 8.9 expands even if a document does not declare them.
_BUILTIN_PREFIXES = {
    "epcis": "https://ref.gs1.org/epcis/",
    "cbv": _CBV,
    "cbvmda": "urn:epcglobal:cbv:mda:",
    "gs1": _VOC,
}

# --- The tree an event is rendered from ----------------------------------------------------

# (name, text, children): an object member, or one member of an array-valued member.
_Node = tuple[str, str, tuple["_Node", ...]]


class _Reader:
    """Turns an event's JSON into nodes, counting values against the bounds."""

    def __init__(self, prefixes: Mapping[str, str]) -> None:
        self.prefixes = prefixes
        self.values = 0

    def expand_key(self, key: str) -> str:
        prefix, sep, local = key.partition(":")
        if sep and prefix in self.prefixes:
            return "{" + self.prefixes[prefix] + "}" + local
        return key

    def members(self, obj: Mapping[str, Any], scope: str, depth: int) -> list[_Node]:
        nodes: list[_Node] = []
        for key, value in obj.items():
            if not isinstance(key, str):
                raise InvalidInput("EPCIS object keys must be strings", code=_CODE)
            _check_string(key)
            if key in _NOT_DATA or key.startswith("@xmlns"):
                continue
            name = self.expand_key(key)
            vocab = _SCOPED_VOCAB.get(scope, {}).get(key) or _GLOBAL_VOCAB.get(key)
            inner = _SCOPE_OF_KEY.get((scope, key), "")
            if isinstance(value, list | tuple):
                self._count(depth + 1)
                items: list[Any] = list(value)
            else:
                items = [value]
            if name.endswith("List") or name == "childEPCs":
                element = "epc" if name == "childEPCs" else name[:-4]
                children = tuple(self.node(element, v, inner, vocab, depth + 1) for v in items)
                nodes.append((name, "", children))
            else:
                nodes.extend(self.node(name, v, inner, vocab, depth + 1) for v in items)
        return nodes

    def node(
        self,
        name: str,
        value: Any,
        scope: str,
        vocab: tuple[str, frozenset[str]] | None,
        depth: int,
    ) -> _Node:
        self._count(depth)
        if isinstance(value, Mapping):
            text = self.scalar(value["#text"], None) if "#text" in value else ""
            children = tuple(self.members(value, scope, depth))
            return (_renamed(name, bool(children)), text, children)
        if isinstance(value, list | tuple):
            raise InvalidInput("EPCIS arrays may not contain arrays", code=_CODE)
        return (_renamed(name, False), self.scalar(value, vocab), ())

    def scalar(self, value: Any, vocab: tuple[str, frozenset[str]] | None) -> str:
        if isinstance(value, str):
            _check_string(value)
            if vocab is not None and value in vocab[1]:
                return vocab[0] + value
            prefix, sep, local = value.partition(":")
            if sep and prefix in self.prefixes:
                return self.prefixes[prefix] + local
            return value
        if value is None or isinstance(value, bool | int):
            return str(value)  # the reference writes Python's str(): None, True, False
        if isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidInput("EPCIS numbers must be finite", code=_CODE)
            return repr(value)
        raise InvalidInput(f"type {type(value).__name__} is not a JSON value", code=_CODE)

    def _count(self, depth: int) -> None:
        self.values += 1
        if depth > MAX_DEPTH:
            raise LimitExceeded(f"EPCIS event nested deeper than {MAX_DEPTH} levels", code=_CODE)
        if self.values > MAX_VALUES:
            raise LimitExceeded(f"EPCIS event has more than {MAX_VALUES} values", code=_CODE)


def _check_string(text: str) -> None:
    if len(text) > MAX_STRING:
        raise LimitExceeded(f"EPCIS string longer than {MAX_STRING} characters", code=_CODE)


def _renamed(name: str, has_children: bool) -> str:
    """The XML element names the JSON members stand for (inputEPCList members are ``epc``)."""
    if name in ("inputEPC", "outputEPC"):
        return "epc"
    if name in ("inputQuantity", "outputQuantity", "childQuantity") or (
        name == "quantity" and has_children
    ):
        return "quantityElement"
    return name


# --- Rendering --------------------------------------------------------------------------


def _is_extension(name: str) -> bool:
    return "{" in name and "/}" in name


def _render_ordered(nodes: tuple[_Node, ...], order: _Order) -> tuple[str, tuple[_Node, ...]]:
    """The pre-hash of ``nodes`` in ``order`` and the nodes (or parts of them) left over."""
    extensions: tuple[_Node, ...] = ()
    if len(nodes) > 1 and not any("eventTime" in n[0] or "action" in n[0] for n in nodes):
        extensions = tuple(n for n in nodes if _is_extension(n[0]))
        nodes = tuple(n for n in nodes if not _is_extension(n[0]))
    ordered = {name for name, _ in order}
    left: list[_Node] = [n for n in nodes if n[0] not in ordered]
    prehash = ""
    for name, sub_order in order:
        strings = []
        for node_name, text, children in (n for n in nodes if n[0] == name):
            rest = children
            below = ""
            if sub_order is not None:
                below, rest = _render_ordered(children, sub_order)
            value = ""
            if text.strip():
                value = "=" + (_utc_millis(text) if name in _TIME_FIELDS else _canonical(text))
            if value or below:
                strings.append(node_name + value + below)
            if rest:
                left.append((node_name, text, rest))
        prehash += "".join(sorted(strings))
    if extensions:
        prehash += _render_generic(extensions)
    return prehash, tuple(left)


def _render_generic(nodes: Iterable[_Node]) -> str:
    """Fields outside the property order: ``name[=value]`` then the children, sorted."""
    nodes = tuple(nodes)
    strings = []
    for name, text, children in nodes:
        value = "=" + _canonical(text.strip()) if text.strip() else ""
        if name in _TYPED_LISTS:
            below = "".join(sorted(_render_typed_entry(child) for child in children))
        else:
            below = _render_generic(children)
        strings.append(name + value + below)
    if len(nodes) > 1 and not any(n[0] in _UNSORTED_NAMES for n in nodes):
        strings.sort()
    return "".join(strings)


def _render_typed_entry(entry: _Node) -> str:
    """One bizTransaction/source/destination: ``type=...`` first, then the identifier."""
    name, _, children = entry
    if not children:
        return _render_generic([entry])
    first = [c for c in children if c[0] == "type"] + [c for c in children if c[0] == name]
    others = [c for c in children if c[0] not in ("type", name)]
    return "".join(_render_generic([c]) for c in first) + _render_generic(others)


# --- Value canonicalisation ---------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _canonical(text: str) -> str:
    """A value as CBV 8.9 writes it: web-vocabulary URIs, plain numbers, canonical DL URIs."""
    text = text.strip()
    for urn, web in _CBV_URNS:
        if text.startswith(urn):
            text = web + text[len(urn) :]
            break
    if _NUMBER.fullmatch(text):
        number = float(text)
        if math.isfinite(number):
            text = str(int(number)) if number.is_integer() else repr(number)
    return canonical_epc(text) or text


_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)"
)


def _utc_millis(text: str) -> str:
    """An xsd:dateTime as UTC with milliseconds, rounded half to even as the reference does."""
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        raise InvalidInput(
            f"timestamp {text[:64]!r} is not an ISO 8601 date-time with offset", code=_CODE
        )
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    millis, remainder = divmod(micro, 1000)
    if remainder > 500 or (remainder == 500 and millis % 2 == 1):
        millis += 1
    try:
        offset = timedelta(0)
        if not zulu:
            offset = timedelta(hours=int(off_h), minutes=int(off_m or 0))
            offset = -offset if sign == "-" else offset
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            tzinfo=timezone(offset),
        )
        moment = moment.astimezone(UTC) + timedelta(milliseconds=millis)
    except (ValueError, OverflowError):
        raise InvalidInput(f"timestamp {text[:64]!r} is out of range", code=_CODE) from None
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
        f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}Z"
    )


# --- The public functions ---------------------------------------------------------------


def _prefixes(context: Any) -> dict[str, str]:
    """Namespace prefixes declared in a JSON-LD ``@context`` (plus the CBV built-ins)."""
    prefixes = dict(_BUILTIN_PREFIXES)
    entries = context if isinstance(context, list | tuple) else [context]
    if len(entries) > 1000:
        raise LimitExceeded("@context has more than 1000 entries", code=_CODE)
    for entry in entries:
        if isinstance(entry, Mapping):
            for key, value in entry.items():
                if isinstance(key, str) and isinstance(value, str) and not key.startswith("@"):
                    _check_string(key)
                    _check_string(value)
                    prefixes[key] = value
        elif entry is not None and not isinstance(entry, str):
            raise InvalidInput("@context entries must be strings or objects", code=_CODE)
    return prefixes


def event_prehash(
    event: Mapping[str, Any], context: Any = None, *, ignore_fields: Iterable[str] = ()
) -> str:
    """The CBV 2.0 pre-hash string of one EPCIS 2.0 JSON-LD event.

    ``context`` is the ``@context`` of the document the event came from (its namespace
    prefixes name user extensions). ``ignore_fields`` names top-level user extension fields
    left out of the hash (a document's ``ignoreFields``); standard fields cannot be ignored.
    """
    if not isinstance(event, Mapping):
        raise InvalidInput("an EPCIS event must be a JSON object", code=_CODE)
    event_type = event.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise InvalidInput("an EPCIS event needs a 'type' string", code=_CODE)
    _check_string(event_type)
    reader = _Reader(_prefixes(context))
    ignored = set()
    for field in ignore_fields:
        if not isinstance(field, str):
            raise InvalidInput("ignoreFields must list strings", code=_CODE)
        _check_string(field)
        name = reader.expand_key(field)
        if not name.startswith("{"):
            raise InvalidInput(
                f"ignoreFields may only name user extension fields, not {field[:64]!r}", code=_CODE
            )
        ignored.add(name)
    try:
        nodes = tuple(n for n in reader.members(event, "event", 0) if n[0] not in ignored)
    except RecursionError:
        raise LimitExceeded("EPCIS event nested too deeply", code=_CODE) from None
    ordered, left = _render_ordered(nodes, _EVENT_ORDER)
    leftover = _render_generic(n for n in left if n[0] not in _NEVER_HASHED)
    return "eventType=" + event_type + ordered + leftover


def event_hash(
    event: Mapping[str, Any], context: Any = None, *, ignore_fields: Iterable[str] = ()
) -> str:
    """The EPCIS event hash ID ``ni:///sha-256;<hex>?ver=CBV2.0`` of one event."""
    prehash = event_prehash(event, context, ignore_fields=ignore_fields)
    try:
        data = prehash.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("EPCIS event contains an unpaired surrogate", code=_CODE) from None
    return "ni:///sha-256;" + hashlib.sha256(data).hexdigest() + "?ver=CBV2.0"


def _document_parts(document: Mapping[str, Any]) -> tuple[list[Any], Any, list[str]]:
    """A document's events, its @context and the fields its ``ignoreFields`` name."""
    if not isinstance(document, Mapping):
        raise InvalidInput("an EPCIS document must be a JSON object", code=_CODE)
    body = document.get("epcisBody")
    if not isinstance(body, Mapping):
        raise InvalidInput("an EPCIS document needs an 'epcisBody' object", code=_CODE)
    holders: list[Mapping[str, Any]] = [document, body]
    header = document.get("epcisHeader")
    if isinstance(header, Mapping):
        holders.append(header)
    container: Any = body
    results = body.get("queryResults")
    if isinstance(results, Mapping):
        holders.append(results)
        container = results.get("resultsBody")
        if not isinstance(container, Mapping):
            raise InvalidInput("queryResults needs a 'resultsBody' object", code=_CODE)
    if "eventList" in container:
        events = container["eventList"]
    elif "event" in container:
        events = [container["event"]]
    else:
        raise InvalidInput("the EPCIS body has no 'eventList'", code=_CODE)
    if not isinstance(events, list | tuple):
        raise InvalidInput("'eventList' must be an array", code=_CODE)
    if len(events) > MAX_EVENTS:
        raise LimitExceeded(f"EPCIS document has more than {MAX_EVENTS} events", code=_CODE)
    ignore: list[str] = []
    for holder in holders:
        for key, value in holder.items():
            if isinstance(key, str) and key.rpartition(":")[2] == "ignoreFields":
                if not isinstance(value, list | tuple) or len(value) > 1000:
                    raise InvalidInput("ignoreFields must be an array of field names", code=_CODE)
                ignore.extend(value)
    context = document.get("@context")
    _prefixes(context)  # reject a malformed @context even when there are no events
    return list(events), context, ignore


def document_event_prehashes(document: Mapping[str, Any]) -> list[str]:
    """The pre-hash strings of a document's events, in document order."""
    events, context, ignore = _document_parts(document)
    return [event_prehash(e, context, ignore_fields=ignore) for e in events]


def document_event_hashes(document: Mapping[str, Any]) -> list[str]:
    """The event hash IDs of an EPCIS document's (or query document's) events, in order."""
    events, context, ignore = _document_parts(document)
    return [event_hash(e, context, ignore_fields=ignore) for e in events]
