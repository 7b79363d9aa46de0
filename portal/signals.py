"""What the portal tells others about writes that send no model signal.

The OneRoster import writes people in bulk (`bulk_update`), which sends no post_save. After it
moves people to other schools it sends `people_moved`, so an app that keeps figures per school
(the district dashboard's summaries) hears of it; the portal knows nothing of who listens.
"""

from django.dispatch import Signal

# Sent with sender=User and `people`: the primary keys of the people now at another school.
people_moved = Signal()
