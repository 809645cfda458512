"""Warden for Django.

Add ``"warden.django"`` to ``INSTALLED_APPS`` and
``"warden.django.backend.WardenBackend"`` to ``AUTHENTICATION_BACKENDS``; set
``WARDEN = {"POLICIES": [...]}``. Then ``user.has_perm("wiki.change_page", page)``
is decided by the policy, over facts synced from the project's database:

- :mod:`warden.django.ids` turns users, groups and model instances into Warden
  constants (``user:3``, ``group:2``, ``page:7``);
- :mod:`warden.django.sync` loads Django's auth data and the relations named in
  settings, and keeps them fresh on ``save``/``delete``/``m2m_changed``;
- :mod:`warden.django.backend`, :mod:`warden.django.drf`,
  :mod:`warden.django.admin` and the ``warden`` template tags ask it.
"""
