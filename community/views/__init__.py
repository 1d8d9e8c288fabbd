"""Community pages: explore, profiles and the device pages.

Every page reads devices through ``Device.objects.visible_to`` (or
``owned_by`` for the owner's pages), so a private device is a 404 for anyone
else, exactly as in the API.
"""
