"""The one door to an organization's rows: every stats query starts here.

A selector gets an OrganizationData and asks it for messages, feedback, files or
memberships; each queryset it hands out is already filtered to the organization, so a new
metric cannot forget the tenant filter.
"""

from asteragents.models import Membership
from conversations.models import Agent, Feedback, Message
from kb.models import KnowledgeBaseFile
from stats.models import ConversationActivity, OrganizationCell, UsageCell


class OrganizationData:
    def __init__(self, organization_id: str):
        self.organization_id = organization_id

    def messages(self):
        return Message.objects.filter(organization_id=self.organization_id)

    def feedback(self):
        return Feedback.objects.filter(organization_id=self.organization_id)

    def knowledge_base_files(self):
        return KnowledgeBaseFile.objects.filter(organization_id=self.organization_id)

    def agents(self):
        return Agent.objects.filter(organization_id=self.organization_id)

    def memberships(self):
        return Membership.objects.filter(organization_id=self.organization_id)

    def organization_cells(self):
        return OrganizationCell.objects.filter(organization_id=self.organization_id)

    def usage_cells(self):
        return UsageCell.objects.filter(organization_id=self.organization_id)

    def conversation_activity(self):
        return ConversationActivity.objects.filter(organization_id=self.organization_id)
