"""The front-office console: server-rendered pages, a little JavaScript, live by SSE.

Pages are Jinja2 templates (autoescaped); scripts and styles are static files, so the
Content-Security-Policy needs no 'unsafe-inline'. Every change goes through the JSON API
(``hub.api``) with the session cookie and the CSRF token, where roles and console control
are enforced. See ``docs/console/README.md``.
"""
