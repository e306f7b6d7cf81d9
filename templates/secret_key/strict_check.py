if not {{app}}.config.get({{key}}):
    if not ({{app}}.debug or {{app}}.testing):
        raise RuntimeError({{message}})
    # Development and tests only: a throwaway key, new at every start.
    {{app}}.config[{{key}}] = secrets.token_hex(32)
