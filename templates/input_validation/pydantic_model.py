class {{model}}(BaseModel):
    """The JSON body `{{view}}` accepts."""

{{fields}}


