#!/usr/bin/env python
"""The example wiki's management commands (``python manage.py warden_check alice wiki.view_page``)."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wiki_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
