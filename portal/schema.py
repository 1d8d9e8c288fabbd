"""OpenAPI schema: the JWT bearer scheme, and one entry per API path.

Every API route is registered twice (with and without its trailing slash, see
``portal.urlhelpers.api_path``); the schema documents the slashless form only.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class JWTAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "portal.auth.JWTAuthentication"
    name = "jwt"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A token from `POST /auth/login` (users and devices).",
        }


def slashless_paths_only(endpoints):
    """drf-spectacular preprocessing hook: drop the trailing-slash twin of each route."""
    paths = {path for path, *_ in endpoints}
    return [
        endpoint
        for endpoint in endpoints
        if not (endpoint[0].endswith("/") and endpoint[0].rstrip("/") in paths)
    ]
