"""Changes to moto's shared machinery (moto.core, moto.moto_api, moto.utilities), which every
service's requests go through: speed-ups that keep moto's answers, and no Docker."""
