"""The rule files on disk, as the service and the commands read them
(``monitor.core.rules`` is the language they are written in):

- ``files``: read every rule file of the rules directory, and check the
  templates its rules name; or parse each file on its own, for ``newsmon check``;
- ``rulebook``: the current rules, swapped for new ones when a file changes,
  and the templates (``monitor.notify.templatebook``) kept current with them.
"""
