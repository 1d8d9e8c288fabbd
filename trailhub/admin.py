"""The admin is Trailhub's: its name in the title, the header and the index page."""

from django.contrib import admin

admin.site.site_header = "Trailhub administration"
admin.site.site_title = "Trailhub admin"
admin.site.index_title = "Trailhub"
