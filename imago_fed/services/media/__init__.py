"""Media: checking, cleaning and keeping the files posts carry and groups show.

``library.py`` is the use case (keep, fetch once, open); ``imaging.py`` the
image work (pixel cap, metadata out, thumbnail, blurhash).
"""

from imago_fed.services.media.library import FEDIVERSE, MATRIX, PERSON_AVATAR, MediaLibrary

__all__ = ["FEDIVERSE", "MATRIX", "PERSON_AVATAR", "MediaLibrary"]
