"""The project's choice widgets write the same markup as Django's own templates."""

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.test.html import parse_html

CHOICES = [("a", "Alpha & <b>"), ("b", 'Beta "quoted"'), ("Group <i>", [("c", "Gamma"), ("d", "Delta")])]


class ChoiceForm(forms.Form):
    one = forms.ChoiceField(choices=CHOICES)
    many = forms.MultipleChoiceField(choices=CHOICES)
    boxes = forms.MultipleChoiceField(choices=CHOICES, widget=forms.CheckboxSelectMultiple(attrs={"class": "facets"}))
    radio = forms.ChoiceField(choices=CHOICES, widget=forms.RadioSelect)
    flag = forms.NullBooleanField()


@pytest.mark.parametrize("name", ["one", "many", "boxes", "radio", "flag"])
def test_choice_widgets_match_django_markup(name: str) -> None:
    data = {"one": "b", "many": ["a", "d"], "boxes": ["c"], "radio": "a", "flag": "true"}
    ours = ChoiceForm(data=data, auto_id="id_%s")[name].as_widget()
    theirs = ChoiceForm(data=data, auto_id="id_%s", renderer=DjangoTemplates())[name].as_widget()
    assert parse_html(ours) == parse_html(theirs)
    if name != "flag":
        assert "<b>" not in ours and "&lt;b&gt;" in ours


@pytest.mark.parametrize("template", ["select.html", "multiple_input.html"])
def test_forms_use_the_project_widget_templates(template: str, settings) -> None:
    origin = get_default_renderer().get_template(f"django/forms/widgets/{template}").origin.name
    assert origin == str(settings.BASE_DIR / "templates" / "django" / "forms" / "widgets" / template)
