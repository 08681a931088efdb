"""A strict reader of the Prometheus text exposition format 0.0.4, for the metrics tests: every
line must be a comment, a `# HELP` / `# TYPE` line or a sample whose labels are well formed and
escaped; anything else fails the read."""

import re

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(?:,|$)')


def unescape(value):
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "\\": "\\", '"': '"'}[m.group(1)], value)


def parse_labels(text):
    labels, pos = {}, 0
    while pos < len(text):
        m = LABEL.match(text, pos)
        if not m:
            raise AssertionError(f"malformed labels at {pos}: {text!r}")
        labels[m.group(1)] = unescape(m.group(2))
        pos = m.end()
    return labels


class Exposition:
    """Samples by (name, labels); `types` and `helps` by family name."""

    def __init__(self, text):
        self.text = text
        self.samples = {}
        self.types, self.helps = {}, {}
        for line in text.splitlines():
            if line.startswith("# HELP "):
                name, _, help_text = line[7:].partition(" ")
                self.helps[name] = help_text
            elif line.startswith("# TYPE "):
                name, _, kind = line[7:].partition(" ")
                assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
                self.types[name] = kind
            elif line.startswith("#"):
                continue
            else:
                m = SAMPLE.match(line)
                assert m, f"not a sample line: {line!r}"
                labels = parse_labels(m.group(2) or "")
                value = float(m.group(3))
                key = (m.group(1), tuple(sorted(labels.items())))
                assert key not in self.samples, f"series twice: {line!r}"
                self.samples[key] = value

    def value(self, name, **labels):
        """The sample's value, 0 when the series is absent (a counter not yet incremented)."""
        return self.samples.get((name, tuple(sorted(labels.items()))), 0.0)

    def total(self, name, **labels):
        """Sum over every series of `name` whose labels include `labels`."""
        want = set(labels.items())
        return sum(v for (n, ls), v in self.samples.items() if n == name and want <= set(ls))

    def series(self, name):
        return [(dict(ls), v) for (n, ls), v in self.samples.items() if n == name]

    def family_of(self, sample_name):
        for suffix in ("_bucket", "_sum", "_count"):
            base = sample_name[: -len(suffix)] if sample_name.endswith(suffix) else None
            if base and self.types.get(base) == "histogram":
                return base
        return sample_name
