from django import forms
from django.utils.translation import gettext_lazy as _

from gallery.models import Licence


class HomeworkForm(forms.Form):
    file = forms.FileField(label=_("Your restoration"),
                           help_text=_("A video for a film clip, an image for a photo or painting."))
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    description = forms.CharField(label=_("How you made it"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                  help_text=_("Tools, models, steps: others learn from it."))
    licence = forms.ChoiceField(label=_("Licence"), choices=Licence.choices, initial=Licence.CC_BY)
    ai_color = forms.BooleanField(label=_("The colors are AI-generated"), required=False)


class CommentForm(forms.Form):
    body = forms.CharField(label=_("Comment"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    version = forms.UUIDField(required=False, widget=forms.HiddenInput)
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)
    at = forms.CharField(label=_("At a moment (optional)"), required=False, max_length=12,
                         help_text=_("e.g. 1:23 — the comment links to that moment of the clip"))

    def clean_at(self):
        from gallery.services import moment_parse

        text = self.cleaned_data["at"].strip()
        if not text:
            return None
        try:
            return moment_parse(text)
        except ValueError:
            raise forms.ValidationError(_("Write the moment as minutes:seconds, e.g. 1:23.")) from None


class ReportForm(forms.Form):
    reason = forms.CharField(label=_("What is wrong?"), max_length=500)


class PublishForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    licence = forms.ChoiceField(label=_("Licence"), choices=Licence.choices, initial=Licence.CC_BY)
