"""The app as gunicorn serves it in the benchmark, plus a bare endpoint to compare with."""
from training import create_app

app = create_app({"WTF_CSRF_ENABLED": False})


@app.get("/_bench/bare")
def bare() -> str:
    """The floor: Flask returning a short string through the same server."""
    return "ok"
