"""The admin's login form, whose password field Wagtail leaves without a translatable label.

Wagtail's LoginForm redeclares `password` without a label, so Django derives one from the field
name ("Password") that no catalogue can translate (docs/ui.md). This form gives it back Django's
own msgid, which Django's zh_Hans catalogue renders as 密码.
"""

from django.utils.translation import gettext_lazy
from wagtail.admin.forms.auth import LoginForm as WagtailLoginForm


class LoginForm(WagtailLoginForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password"].label = gettext_lazy("Password")
