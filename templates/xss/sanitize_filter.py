def {{name}}(value):
    """Keep the safe subset of HTML: nh3 removes scripts, event handlers and unknown tags."""
    return Markup(nh3.clean(str(value)))
