"""The versions API: read a version, vote for it, feature it (staff). (Publishing a job's result as a
version is the jobs app's: jobs/api.py.)"""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from gallery import selectors, services
from gallery.api.inputs import InputSerializer, refuse_any_body
from gallery.api.responses import with_errors
from gallery.api.serializers import VersionSerializer, VoteResultSerializer


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
        refuse_any_body(request)
        voted = services.vote_toggle(user=request.user, version=version)
        return Response({"voted": voted, "vote_count": version.votes.count()})


class VersionFeatureApi(APIView):
    class FeatureInputSerializer(InputSerializer):
        featured = serializers.BooleanField(default=True)

    @extend_schema(operation_id="versions_feature", summary="Feature a version, or stop featuring it (staff)",
                   request=FeatureInputSerializer, responses=with_errors({200: VersionSerializer}, 400, 403, 404))
    def post(self, request, uid):
        version = selectors.version_get_visible(uid=uid, user=request.user)
        data = self.FeatureInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.version_feature(moderator=request.user, version=version, featured=data.validated_data["featured"])
        return Response(VersionSerializer(version).data)
