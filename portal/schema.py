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


#: The refusals every operation may answer, as the one exception handler
#: (``portal.errors.exception_handler``) writes them, and when an operation can meet each.
ERROR_SCHEMA = {
    "type": "object",
    "description": 'A refusal (docs/api.md "Errors"): a message a person can act on and a code.',
    "properties": {
        "error": {"type": "string"},
        "code": {"type": "string"},
        "fields": {"type": "object", "description": "Per field, what is wrong (a 400)."},
    },
    "required": ["error", "code"],
}
REFUSALS = {
    "400": ("The request is not valid: its body, a parameter or a header.", "input"),
    "401": ("The token is missing, expired or not valid.", "always"),
    "403": ("The caller may not do this (or its token's scopes do not reach it).", "always"),
    "404": (
        "Nothing the caller may see has that id (in the path, a parameter or the body).",
        "input",
    ),
    "409": ("It conflicts with what is stored.", "write"),
    "413": ("The request body is over the limit.", "body"),
    "415": ("The request body is not of a type the operation reads.", "body"),
}


def document_refusals(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation documents the refusals it can
    answer, with their JSON body, unless its view documents that status itself."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            parameters = operation.get("parameters", [])
            meets = {
                "always": True,
                "write": method in ("post", "put", "patch", "delete"),
                "body": "requestBody" in operation,
                "path": any(p.get("in") == "path" for p in parameters),
                "input": "requestBody" in operation or bool(parameters),
            }
            for status, (description, when) in REFUSALS.items():
                if meets[when] and status not in operation["responses"]:
                    operation["responses"][status] = {"description": description, "content": error}
    return result
