"""Certificates of decided awards: PDFs in Vietnamese, verification codes and their public verification."""
