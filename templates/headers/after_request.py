@{{app}}.after_request
def {{name}}(response):
    """Security headers on every response; HSTS only over HTTPS, as production serves it."""
{{headers}}    return response
