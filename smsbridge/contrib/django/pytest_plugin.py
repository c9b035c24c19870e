"""The Django projects' pytest plugin, for ``-p smsbridge.contrib.django.pytest_plugin``.

It is registered for every pytest run already (the ``smsbridge_django`` entry point, which is
:mod:`smsbridge.testing._django_plugin`); this name is kept for explicit use.
"""

from smsbridge.testing._django_plugin import _smsbridge_django_outbox

__all__ = ["_smsbridge_django_outbox"]
