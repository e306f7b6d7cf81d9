os.environ.get({{q}}FLASK_DEBUG{{q}}) == {{q}}1{{q}}
