"""What Outlook loads for the OnMessageSend handler: its page, its script with the
deployment's public URL written in (classic Outlook on Windows runs the script alone, where a
relative URL can't be fetched), and the well-known list that lets that script sign in."""

from __future__ import annotations

from tests.support.servers import PUBLIC_URL, BackendHandle


def test_the_script_is_served_with_the_public_url(backend: BackendHandle):
    answer = backend.http.get(f"{backend.url}/launch/onsend.js")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/javascript")
    assert f'const PUBLIC_URL = "{PUBLIC_URL}";' in answer.text
    assert 'const PUBLIC_URL = "";' not in answer.text
    # The app's identity, as the manifest's WebApplicationInfo gives it, for NAA.
    settings = backend.settings
    assert (
        f'const APP = {{"clientId": "{settings.client_id}", '
        f'"scope": "{settings.app_id_uri}/access_as_user"}};' in answer.text
    )
    assert "import " not in answer.text.split("(() => {", 1)[0]  # a classic script


def test_the_page_loads_office_js_and_the_script(backend: BackendHandle):
    answer = backend.http.get(f"{backend.url}/launch/onsend.html")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    assert '<script src="onsend.js"></script>' in answer.text
    assert '<script src="../vendor/msal-browser.min.js"></script>' in answer.text
    assert backend.settings.office_js_url in answer.text
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]


def test_the_well_known_list_allows_the_script(backend: BackendHandle):
    answer = backend.http.get(f"{backend.url}/.well-known/microsoft-officeaddins-allowed.json")
    assert answer.status_code == 200
    assert answer.json() == {"allowed": [f"{PUBLIC_URL}/launch/onsend.js"]}
