from django.core.management.base import BaseCommand

from gallery.demo import seed_demo_items


class Command(BaseCommand):
    help = "Create the demo items (degraded clips and stills made from scikit-image sample photos)."

    def handle(self, *args, **options):
        made = seed_demo_items(stdout=self.stdout)
        self.stdout.write(f"Demo content: {made} item(s) created.")
