"""Usage records PostgreSQL refused (inference/usage/stream.py): list them, store them again, or drop them."""

import json

from django.core.management.base import BaseCommand, CommandError

from inference.usage.stream import usage_dead_letters, usage_dead_letters_drop, usage_dead_letters_replay


class Command(BaseCommand):
    help = ("List the usage records that could not be stored (the dead-letter stream), replay them into "
            "PostgreSQL, or drop them.")

    def create_parser(self, *args, **kwargs):
        parser = super().create_parser(*args, **kwargs)
        parser.parse_args = parser.parse_intermixed_args  # `replay --repair ID` as well as `replay ID --repair`
        return parser

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["list", "replay", "drop"])
        parser.add_argument("ids", nargs="*", help="dead-letter ids (as listed); replay: all when none is given")
        parser.add_argument("--repair", action="store_true",
                            help="replay: replace what PostgreSQL cannot hold (NUL, lone surrogates, over-long "
                                 "strings) so that the record, its tokens and cost, is stored")
        parser.add_argument("--limit", type=int, default=100, help="list: at most this many, oldest first")

    def handle(self, *args, action, ids, repair, limit, **options):
        if action == "list":
            letters = usage_dead_letters(ids=ids or None, limit=limit)
            for letter in letters:
                self.stdout.write(json.dumps(letter.summary()))
            self.stderr.write(f"{len(letters)} dead letter(s)")
        elif action == "replay":
            counts = usage_dead_letters_replay(ids=ids or None, repair=repair)
            self.stdout.write(json.dumps(counts))
        else:
            if not ids:
                raise CommandError("drop: name the dead-letter ids to drop (list shows them)")
            self.stdout.write(json.dumps({"dropped": usage_dead_letters_drop(ids=ids)}))
