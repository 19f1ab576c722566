from django.urls import path

from . import proxy_views, views

app_name = "discussion"

urlpatterns = [
    path("essays/<slug:slug>/comment/", views.comment, name="comment"),
    path("comments/preview/", views.preview, name="preview"),
    path("comments/<id:pk>/", views.permalink, name="permalink"),
    path("comments/<id:pk>/cite/<slug:kind>/", views.cite, name="cite"),
    path("comments/<id:pk>/reply/", views.reply, name="reply"),
    path("comments/<id:pk>/receipt/", views.receipt, name="receipt"),
    path("comments/<id:pk>/resend/", views.resend, name="resend"),
    path("comments/<id:pk>/address/", views.correct_address, name="correct_address"),
    path("comments/<id:pk>/edit/", views.edit, name="edit"),
    path("comments/<id:pk>/delete/", views.delete, name="delete"),
    path("comments/<id:pk>/flag/", views.flag, name="flag"),
    path("comments/confirm/<str:token>/", views.confirm, name="confirm"),
    path("essays/<slug:slug>/on-behalf/", proxy_views.submit, name="proxy"),
    path("comments/<id:pk>/on-behalf/", proxy_views.submit_reply, name="proxy_reply"),
    path("attributed/<str:token>/", proxy_views.attributed, name="attributed"),
    path("comments/by-email/<str:token>/", views.mail_sender, name="mail_sender"),
    path("essays/<slug:slug>/follow/", views.follow, name="follow"),
    path("essays/<slug:slug>/unfollow/", views.unfollow, name="unfollow"),
    path("follow/<str:token>/", views.follow_confirm, name="follow_confirm"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
