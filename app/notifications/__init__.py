"""Residents hear back: their devices, the notification outbox and in-app feed, FCM pushes."""
