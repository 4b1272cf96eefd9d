"""The versions API: read a version, vote for it, feature it (staff); and publish a finished job's
result as a version (JobPublishApi, which is to move to the jobs app)."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from gallery import selectors, services
from gallery.api.responses import with_errors
from gallery.api.serializers import VersionSerializer, VoteResultSerializer
from gallery.models import Licence
from jobs.selectors import job_get_visible


class VersionDetailApi(APIView):
    @extend_schema(operation_id="versions_retrieve", summary="A version: author, licence, recipe, votes",
                   responses=with_errors({200: VersionSerializer}, 404))
    def get(self, request, uid):
        return Response(VersionSerializer(selectors.version_get_visible(uid=uid, user=request.user)).data)


class VersionVoteApi(APIView):
    @extend_schema(operation_id="versions_vote", summary="Vote for a version, or take the vote back",
                   request=None, responses=with_errors({200: VoteResultSerializer}, 403, 404))
    def post(self, request, uid):
        version = selectors.version_get_visible(uid=uid, user=request.user)
        voted = services.vote_toggle(user=request.user, version=version)
        return Response({"voted": voted, "vote_count": version.votes.count()})


class VersionFeatureApi(APIView):
    class FeatureInputSerializer(serializers.Serializer):
        featured = serializers.BooleanField(default=True)

    @extend_schema(operation_id="versions_feature", summary="Feature a version, or stop featuring it (staff)",
                   request=FeatureInputSerializer, responses=with_errors({200: VersionSerializer}, 400, 403, 404))
    def post(self, request, uid):
        version = selectors.version_get_visible(uid=uid, user=request.user)
        data = self.FeatureInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.version_feature(moderator=request.user, version=version, featured=data.validated_data["featured"])
        return Response(VersionSerializer(version).data)


class JobPublishApi(APIView):
    permission_classes = [IsAuthenticated]

    class PublishInputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                      help_text="The recipe's name when empty.")
        licence = serializers.ChoiceField(choices=Licence.choices, default=Licence.CC_BY)

    @extend_schema(operation_id="jobs_publish", summary="Publish a finished job's result as a version of its item",
                   request=PublishInputSerializer, responses=with_errors({201: VersionSerializer}, 400, 403, 404, 409))
    def post(self, request, job_id):
        job = job_get_visible(user=request.user, job_id=job_id)
        data = self.PublishInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = services.version_publish_from_job(user=request.user, job=job, **data.validated_data)
        return Response(VersionSerializer(selectors.version_get_visible(uid=version.uid, user=request.user)).data,
                        status=status.HTTP_201_CREATED)
