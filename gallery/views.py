from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from gallery.models import Item
from jobs.forms import RecipeForm
from restoration_site.http import media_file_response


@require_GET
def home(request):
    return render(request, "gallery/home.html", {"items": Item.objects.all()[:60]})


@require_GET
def item_detail(request, slug):
    item = get_object_or_404(Item, slug=slug)
    return render(request, "gallery/item.html", {"item": item, "recipe_form": RecipeForm()})


@require_GET
def item_media(request, slug, which):
    item = get_object_or_404(Item, slug=slug)
    field = {"media": item.media, "poster": item.poster}.get(which)
    if not field:
        raise Http404("No such file.")
    suffix = field.name.rsplit(".", 1)[-1]
    return media_file_response(request, field.path, download_name=f"{item.slug}-{which}.{suffix}")
