"""Serializers for the accounts part of the API."""

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers


class HyphenatedFieldsMixin:
    """Declare fields with underscores, send and accept them hyphenated.

    ``user_meta`` becomes ``user-meta`` on the wire; its ``source`` stays the
    attribute, so validated data keeps the Python names.
    """

    def get_fields(self):
        fields = {}
        for name, field in super().get_fields().items():
            if "_" in name:
                if isinstance(field, serializers.SerializerMethodField):
                    field.method_name = field.method_name or f"get_{name}"
                elif field.source is None:
                    field.source = name
                name = name.replace("_", "-")
            fields[name] = field
        return fields


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=200)
    password = serializers.CharField(max_length=1024, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    token_type = serializers.CharField(default="bearer")


class ClaimsSerializer(serializers.Serializer):
    id = serializers.CharField()
    prn = serializers.CharField()
    nick = serializers.CharField()
    roles = serializers.CharField()
    type = serializers.CharField()
    scopes = serializers.CharField()
    app = serializers.CharField(required=False, help_text="The OAuth app whose token it is.")
    exp = serializers.IntegerField()
    orig_iat = serializers.IntegerField()


class AccountSerializer(serializers.ModelSerializer):
    """An account as the API shows it: never the password."""

    nick = serializers.CharField(source="username")
    prn = serializers.CharField(read_only=True)
    type = serializers.SerializerMethodField()
    time_created = serializers.DateTimeField(source="date_joined", read_only=True)

    class Meta:
        model = get_user_model()
        fields = ["id", "prn", "nick", "email", "type", "time_created"]
        extra_kwargs = {"id": {"read_only": True}}

    def get_fields(self):
        fields = super().get_fields()
        fields["time-created"] = fields.pop("time_created")
        return fields

    def get_type(self, obj) -> str:
        return "ADMIN" if obj.is_staff else "USER"


class AccountCreationSerializer(serializers.Serializer):
    nick = serializers.CharField(max_length=63)
    email = serializers.EmailField()
    password = serializers.CharField(max_length=1024, trim_whitespace=False, write_only=True)

    def validate_nick(self, value: str) -> str:
        User = get_user_model()
        field = User._meta.get_field("username")
        for validator in field.validators:
            try:
                validator(value)
            except DjangoValidationError as exc:
                raise serializers.ValidationError(exc.messages) from None
        if User.objects.filter(username__iexact=value).exists():
            raise serializers.ValidationError("That nick is taken.", code="nick-taken")
        return value

    def validate_email(self, value: str) -> str:
        if get_user_model().objects.filter(email__iexact=value).exists():
            raise serializers.ValidationError(
                "An account with that email exists.", code="email-taken"
            )
        return value

    def validate(self, attrs):
        User = get_user_model()
        candidate = User(username=attrs["nick"], email=attrs["email"])
        try:
            password_validation.validate_password(attrs["password"], candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": exc.messages}) from None
        return attrs

    def create(self, validated_data):
        return get_user_model().objects.create_user(
            username=validated_data["nick"],
            email=validated_data["email"],
            password=validated_data["password"],
        )
