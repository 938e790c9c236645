from callvault.policy import default_policy
from callvault.policy.taxonomy import KNOWN_CATEGORIES, fideslang_keys


def test_every_fideslang_key_used_exists_in_fideslang():
    keys = fideslang_keys()
    for category in KNOWN_CATEGORIES.values():
        if category.extension:
            assert category.key not in keys
            assert category.parent in keys, f"{category.key} extends no fideslang category"
        else:
            assert category.key in keys, f"{category.key} is not a fideslang key"


def test_every_category_of_the_default_policy_is_known_with_a_dpv_iri():
    for key in default_policy().categories:
        assert key in KNOWN_CATEGORIES
        assert KNOWN_CATEGORIES[key].dpv.startswith("https://w3id.org/dpv/pd#")


def test_identifying_classes():
    assert KNOWN_CATEGORIES["user.contact.phone_number"].identifying == "direct"
    assert KNOWN_CATEGORIES["user.behavior.call_history"].identifying == "quasi"
