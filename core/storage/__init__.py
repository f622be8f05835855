"""Object storage behind one small interface: a local folder by default, MinIO / S3 when configured."""

from __future__ import annotations

from core.settings import Settings, get_settings
from core.storage.base import ObjectStore, ObjectStoreUnavailable, StoredObject, object_key_is_safe

__all__ = ["ObjectStore", "ObjectStoreUnavailable", "StoredObject", "get_store", "object_key_is_safe"]


def get_store(settings: Settings | None = None) -> ObjectStore:
    """The object store the settings ask for."""
    settings = settings or get_settings()
    if settings.storage_backend == "s3":
        from core.storage.s3 import S3ObjectStore

        return S3ObjectStore.from_settings(settings)
    from core.storage.local import LocalObjectStore

    assert settings.storage_root is not None
    return LocalObjectStore(settings.storage_root)
