#!/usr/bin/env python3
"""validate.py — check cdrwatch alerts against the real schemas in this folder (README).

    validate.py ecs FILE.jsonl     every field of every alert line exists in ecs/fields.csv with a
                                   compatible JSON type (our own fields under cdrwatch.* exempt)
    validate.py ocsf FILE.jsonl    every line is a valid OCSF Detection Finding (class_uid 2004):
                                   required attributes present, types per dictionary.json, objects
                                   checked recursively, enums hold listed values, no attribute the
                                   class or object does not define (except under `unmapped`)
    validate.py ocsf-files DIR     the files of the OCSF schema at DIR that `ocsf` reads (to refresh
                                   the copy in ocsf/)

Exit 0 when every line is valid; 1 with one line per problem: `LINE: FIELD: why`; 2 on usage.
Python 3 standard library only.
"""
import csv
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# ---- ECS ----

ECS_TYPES = {
    "string": ("keyword", "text", "match_only_text", "wildcard", "constant_keyword", "ip", "date",
               "version"),
    "number": ("long", "integer", "short", "byte", "float", "half_float", "scaled_float", "double",
               "unsigned_long"),
    "bool": ("boolean",),
    "object": ("object", "flattened", "nested"),
}


def json_kind(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list):
        return "array"
    return "null"


def ecs_load(path):
    with open(path, newline="", encoding="utf-8") as f:
        return {row["Field"]: row for row in csv.DictReader(f)}


def ecs_compatible(ftype, value):
    kind = json_kind(value)
    if ftype == "geo_point":
        return kind in ("object", "string")
    return ftype in ECS_TYPES.get(kind, ())


def ecs_check(fields, value, path, in_array, problems):
    """Walk one value at a dotted path; in_array: reached through a JSON array of objects."""
    if path == "cdrwatch" or path.startswith("cdrwatch."):
        return
    field = fields.get(path)
    if field is not None:
        ftype = field["Type"]
        is_array_field = field["Normalization"] == "array" or ftype == "nested"
        if (in_array or isinstance(value, list)) and not is_array_field:
            problems.append((path, "an array where ECS has a single %s" % ftype))
            return
        for v in value if isinstance(value, list) else [value]:
            if not ecs_compatible(ftype, v):
                problems.append((path, "%s value where ECS has %s" % (json_kind(v), ftype)))
        return
    if isinstance(value, dict):
        for k, v in value.items():
            ecs_check(fields, v, path + "." + k if path else k, in_array, problems)
    elif isinstance(value, list):
        for v in value:
            if not isinstance(v, dict):
                problems.append((path, "not an ECS field"))
                return
            ecs_check(fields, v, path, True, problems)
    else:
        problems.append((path, "not an ECS field"))


def validate_ecs(alert, problems):
    if not isinstance(alert, dict):
        problems.append(("", "not a JSON object"))
        return
    ecs_check(ECS, alert, "", False, problems)


# ---- OCSF ----

class Ocsf:
    """The detection_finding class with its extends chain and $includes resolved, and the objects
    it uses, loaded on demand from an OCSF schema folder."""

    def __init__(self, root):
        self.root = root
        self.read = set()  # files read, relative to root
        self.dictionary = self.load("dictionary.json")
        self.dict_attrs = self.dictionary["attributes"]
        self.types = self.dictionary["types"]["attributes"]
        self.categories = self.load("categories.json")["attributes"]
        self.events = {}
        self.objects = {}
        self.class_def = self.resolve_event("detection_finding")
        self.fix_uids(self.class_def)

    def fix_uids(self, cls):
        """category_uid and class_uid are the class's own (base_event lists only 0); the schema
        compiler derives them as the category's uid and category uid * 1000 + class uid."""
        category = self.categories.get(cls["category"], {})
        self.class_uid = category.get("uid", 0) * 1000 + cls["uid"]
        for name, uid in (("category_uid", category.get("uid")), ("class_uid", self.class_uid)):
            adef = dict(cls["attributes"][name])
            adef["enum"] = {str(uid): {"caption": cls["name"]}}
            adef["own_enum"] = True
            cls["attributes"][name] = adef

    def load(self, rel):
        self.read.add(rel)
        with open(os.path.join(self.root, rel), encoding="utf-8") as f:
            return json.load(f)

    def find(self, folder, name):
        """Path (relative) of the definition named `name` under folder."""
        for dirpath, _, files in sorted(os.walk(os.path.join(self.root, folder))):
            for fn in sorted(files):
                if fn == name + ".json":
                    return os.path.relpath(os.path.join(dirpath, fn), self.root)
        return None

    def own_attributes(self, rel):
        """A file's attributes, its $includes (profiles) merged under its own."""
        d = self.load(rel)
        attrs = {}
        for inc in d.get("attributes", {}).get("$include", []):
            prof = self.load(inc)
            for k, v in prof.get("attributes", {}).items():
                v = dict(v)
                if prof.get("meta") == "profile":
                    v["profile"] = prof["name"]
                attrs[k] = v
        for k, v in d.get("attributes", {}).items():
            if k != "$include":
                attrs[k] = merge(attrs.get(k, {}), v)
        return d, attrs

    def resolve(self, folder, name, cache):
        if name in cache:
            return cache[name]
        rel = self.find(folder, name)
        if rel is None:
            cache[name] = None
            return None
        d, attrs = self.own_attributes(rel)
        merged = {"name": name, "uid": d.get("uid"), "category": d.get("category"),
                  "constraints": d.get("constraints", {}), "attributes": {}}
        if d.get("extends"):
            parent = self.resolve(folder, d["extends"], cache)
            if parent is None:
                raise SystemExit("validate.py: %s extends %s, which is not in %s" % (rel, d["extends"], folder))
            merged["attributes"] = {k: dict(v) for k, v in parent["attributes"].items()}
            merged["category"] = merged["category"] or parent["category"]
            if not merged["constraints"]:
                merged["constraints"] = parent["constraints"]
        for k, v in attrs.items():
            merged["attributes"][k] = merge(merged["attributes"].get(k, {}), v)
        cache[name] = merged
        return merged

    def resolve_event(self, name):
        return self.resolve("events", name, self.events)

    def resolve_object(self, name):
        return self.resolve("objects", name, self.objects)

    # -- one attribute --

    def attr_type(self, name, adef):
        d = self.dict_attrs.get(name, {})
        return adef.get("type", d.get("type")), adef.get("is_array", d.get("is_array", False))

    def enum_of(self, name, adef):
        if adef.get("own_enum"):
            return adef["enum"]
        values = dict(self.dict_attrs.get(name, {}).get("enum", {}))
        values.update(adef.get("enum", {}))
        return values

    def base_type(self, t):
        seen = 0
        while t in self.types and self.types[t].get("type") and seen < 8:
            t = self.types[t]["type"]
            seen += 1
        return t

    def check_scalar(self, t, value, path, problems):
        base = self.base_type(t)
        ok = {
            "string_t": lambda v: isinstance(v, str),
            "integer_t": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "long_t": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "float_t": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "boolean_t": lambda v: isinstance(v, bool),
            "json_t": lambda v: True,
        }.get(base)
        if ok is None:
            problems.append((path, "type %s is not in dictionary.json" % t))
        elif not ok(value):
            problems.append((path, "%s value where the schema has %s" % (json_kind(value), t)))

    def check_value(self, name, adef, value, path, problems, depth):
        t, is_array = self.attr_type(name, adef)
        if t is None:
            problems.append((path, "attribute not in dictionary.json"))
            return
        if is_array:
            if not isinstance(value, list):
                problems.append((path, "%s value where the schema has an array of %s" % (json_kind(value), t)))
                return
            items = [(path + "[%d]" % i, v) for i, v in enumerate(value)]
        else:
            if isinstance(value, list):
                problems.append((path, "an array where the schema has one %s" % t))
                return
            items = [(path, value)]
        enum = self.enum_of(name, adef)
        for p, v in items:
            if t == "object":
                if not isinstance(v, dict):
                    problems.append((p, "%s value where the schema has an object" % json_kind(v)))
            elif t.endswith("_t"):
                self.check_scalar(t, v, p, problems)
                if enum and str(v) not in enum:
                    problems.append((p, "%r is not one of the listed values %s" % (v, ", ".join(sorted(enum)))))
            else:
                obj = self.resolve_object(t)
                if obj is None:
                    problems.append((p, "object type %s is not in objects/" % t))
                elif not isinstance(v, dict):
                    problems.append((p, "%s value where the schema has the object %s" % (json_kind(v), t)))
                else:
                    self.check_members(obj, v, p, problems, None, depth + 1)

    def check_members(self, definition, value, path, problems, profiles, depth):
        """value (a dict) against a resolved class or object definition."""
        attrs = definition["attributes"]
        prefix = path + "." if path else ""
        if depth > 32:
            problems.append((path, "nested too deep"))
            return
        for name, adef in attrs.items():
            applies = adef.get("profile") is None or profiles is None or adef["profile"] in profiles
            if adef.get("requirement") == "required" and applies and name not in value:
                problems.append((prefix + name, "required attribute missing"))
        for name, v in value.items():
            if name not in attrs:
                problems.append((prefix + name, "not an attribute of %s" % definition["name"]))
                continue
            adef = attrs[name]
            if profiles is not None and adef.get("profile") and adef["profile"] not in profiles:
                problems.append((prefix + name, "attribute of the %s profile, not in metadata.profiles" % adef["profile"]))
            self.check_value(name, adef, v, prefix + name, problems, depth)
        at_least_one = definition["constraints"].get("at_least_one")
        if at_least_one and not any(k in value for k in at_least_one):
            problems.append((path or "(event)", "needs at least one of %s" % ", ".join(at_least_one)))

    def check_event(self, event, problems):
        if not isinstance(event, dict):
            problems.append(("", "not a JSON object"))
            return
        cls = self.class_def
        profiles = event.get("metadata", {}).get("profiles", []) if isinstance(event.get("metadata"), dict) else []
        self.check_members(cls, event, "", problems, profiles if isinstance(profiles, list) else [], 0)
        activity = event.get("activity_id")
        if isinstance(activity, int) and "type_uid" in event and event["type_uid"] != self.class_uid * 100 + activity:
            problems.append(("type_uid", "%r where class_uid * 100 + activity_id is %d" %
                             (event["type_uid"], self.class_uid * 100 + activity)))

    def files(self):
        """Every file the class can lead to: the closure of its object types."""
        todo = [self.class_def]
        seen = set()
        while todo:
            definition = todo.pop()
            for name, adef in definition["attributes"].items():
                t, _ = self.attr_type(name, adef)
                if t and not t.endswith("_t") and t != "object" and t not in seen:
                    seen.add(t)
                    obj = self.resolve_object(t)
                    if obj is not None:
                        todo.append(obj)
        return sorted(self.read)


def merge(base, over):
    """An attribute definition: over's keys replace base's, enums merged value by value."""
    out = dict(base)
    for k, v in over.items():
        if k == "enum" and isinstance(v, dict):
            e = dict(out.get("enum", {}))
            e.update(v)
            out["enum"] = e
        else:
            out[k] = v
    return out


# ---- main ----

def validate_lines(path, check):
    problems = 0
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            found = []
            try:
                alert = json.loads(line)
            except ValueError as e:
                found.append(("", "not JSON: %s" % e))
            else:
                check(alert, found)
            for field, why in found:
                print("%s:%d: %s: %s" % (path, n, field or "(line)", why))
            problems += len(found)
    return problems


ECS = None


def main(argv):
    global ECS
    if len(argv) != 3 or argv[1] not in ("ecs", "ocsf", "ocsf-files"):
        sys.stderr.write("usage: validate.py ecs|ocsf FILE.jsonl | validate.py ocsf-files OCSF_DIR\n")
        return 2
    if argv[1] == "ocsf-files":
        for rel in Ocsf(argv[2]).files():
            print(rel)
        return 0
    if argv[1] == "ecs":
        ECS = ecs_load(os.path.join(HERE, "ecs", "fields.csv"))
        check = validate_ecs
    else:
        check = Ocsf(os.path.join(HERE, "ocsf")).check_event
    return 1 if validate_lines(argv[2], check) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
