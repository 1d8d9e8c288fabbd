from django.contrib import admin

from community.models import Fork, Proposal, ProposalComment, Star, Upstream


@admin.register(Star)
class StarAdmin(admin.ModelAdmin):
    list_display = ("user", "device", "time_created")
    search_fields = ("user__username", "device__nick")
    raw_id_fields = ("user", "device")


@admin.register(Fork)
class ForkAdmin(admin.ModelAdmin):
    list_display = ("device", "rev", "source_label", "source_rev", "created_device")
    search_fields = ("device__nick", "source_label")
    raw_id_fields = ("device", "source_device")


@admin.register(Upstream)
class UpstreamAdmin(admin.ModelAdmin):
    list_display = ("device", "source_device", "base_rev", "follow", "time_modified")
    list_filter = ("follow",)
    search_fields = ("device__nick", "source_device__nick")
    raw_id_fields = ("device", "source_device")


class ProposalCommentInline(admin.TabularInline):
    model = ProposalComment
    extra = 0
    raw_id_fields = ("author",)


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ("target", "number", "title", "proposer", "status", "time_created")
    list_filter = ("status",)
    search_fields = ("target__nick", "title", "proposer__username", "source_label")
    raw_id_fields = ("target", "proposer", "source_device", "step", "closed_by")
    inlines = [ProposalCommentInline]


@admin.register(ProposalComment)
class ProposalCommentAdmin(admin.ModelAdmin):
    list_display = ("proposal", "author", "time_created")
    raw_id_fields = ("proposal", "author")
