from callvault.subjects.directory import find_subject, subject_identifiers_of
from callvault.tenants import tenant_counts
from factories import make_call, make_external, make_tenant, make_user


def test_factories_store_findable_subjects_and_calls(vault):
    make_tenant(vault)
    alice = make_user(vault)
    caller = make_external(vault)
    make_call(vault, caller_id=caller, callee_id=alice)
    with vault.engine.connect() as conn:
        assert find_subject(vault, conn, "acme", "ALICE@acme.dk") == alice
        assert find_subject(vault, conn, "acme", "+45 40 40 40 40") == caller
        assert find_subject(vault, conn, "acme", "201") == alice
        assert subject_identifiers_of(vault, conn, "acme", alice)["name"] == ["Alice Andersen"]
        assert tenant_counts(conn, "acme") == {
            "subjects": 2,
            "calls": 1,
            "voicemails": 0,
            "statistics": 0,
        }
