try:
    {{var}} = {{model}}.model_validate({{raw}})
except ValidationError as exc:
    errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
    return {"errors": errors}, 400
