"""Settings of certificates (D07_CERTIFICATE_*), read when the doors are built, never at import."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from awards.certificates.pdf import DEFAULT_FONT_DIR
from awards.certificates.service import CertificateConfig


class CertificateSettings(BaseSettings):
    """Kept beside certificates so the package brings its own settings: the font directory differs between
    images (Debian's fonts-dejavu-core by default) and the place is the province's seat."""

    model_config = SettingsConfigDict(env_prefix="D07_", extra="ignore", frozen=True)

    certificate_font_dir: Path = DEFAULT_FONT_DIR
    certificate_place: str = "Sơn Lâm"
    # Public verification requests per client address and minute.
    certificate_verify_per_minute: int = 30

    def config(self) -> CertificateConfig:
        return CertificateConfig(place=self.certificate_place, font_dir=self.certificate_font_dir)
