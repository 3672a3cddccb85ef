"""The voting booth's words in English and French (the browser's preference picks).

One dict per language with the same keys: the template reads them, and the
``script`` ones go to the page's script as JSON (it writes its own messages).
Grade names follow the order of ``GRADE_NAMES`` (1 = best).
"""

from __future__ import annotations

__all__ = ["LANGUAGES", "TEXT", "pick_language"]

LANGUAGES = ("en", "fr")

TEXT: dict[str, dict[str, object]] = {
    "en": {
        "title": "Voting booth",
        "intro": "Your ballot is encrypted on this device before it leaves it: the server "
        "and the network only ever see the encrypted ballot. Your credential never "
        "leaves this page.",
        "noscript": "This booth encrypts your ballot on your device, which needs JavaScript. "
        "Turn JavaScript on for this page, or vote with the command line: imago-fed ballot.",
        "closed": "The ballot box is not open (state: {state}).",
        "credential": "Your voting credential",
        "credential_hint": "The 15 characters (XXX-XXX-XXX-XXX-XXX) you received privately.",
        "choices": "Your vote",
        "choose_one": "Choose one option.",
        "choose_any": "Approve as many options as you like (none is allowed).",
        "grade_each": "Give every option a grade.",
        "rank_each": "Rank the options: 1 is your first choice; equal ranks are ties; "
        "unranked options come after every ranked one.",
        "unranked": "unranked",
        "grades": ["Excellent", "Very good", "Good", "Fair", "Reject"],
        "encrypt": "Encrypt my ballot",
        "sealed": "Your encrypted ballot",
        "tracker": "Smart ballot tracker",
        "tracker_hint": "Note it down: after casting you can find it on the public board.",
        "cast": "Cast this ballot",
        "audit": "Audit it instead (then vote again)",
        "audit_hint": "An audit opens this encrypted ballot to check the device encrypted "
        "what you chose. An audited ballot shows your vote, so it is thrown away and "
        "a fresh one is made.",
        "change": "Change my choices",
        "audited": "Audited ballot",
        "audit_data": "The audited ballot and its opening (randomness and plaintexts)",
        "recheck": "To re-check it on another machine, save the record above to a file and "
        "run imago-fed ballot-audit --election {params} FILE, or recompute alpha = g^r and "
        "beta = y^r·g^m for each ciphertext in the election's group (its parameters are "
        "at {params}).",
        "done": "Your ballot is cast",
        "done_hint": "Look it up on the public board; the archive lets anyone verify "
        "the whole election.",
        "board": "Find my ballot on the board",
        "archive": "Download the archive",
        "script": {
            "bad_credential": "This is not a valid credential: check for a typing mistake.",
            "incomplete": "Answer every question first.",
            "encrypting": "Encrypting on this device…",
            "encrypted": "Encrypted in {ms} ms.",
            "casting": "Casting…",
            "audit_ok": "Check passed: every ciphertext encrypts what you chose. "
            "This ballot is spoilt; a fresh one was made below.",
            "audit_failed": "CHECK FAILED: this device did not encrypt what you chose "
            "({where}). Do not vote on this device.",
            "unknown_credential": "This credential is not one of this election's: "
            "the ballot was refused. Check that it is the credential for this vote.",
            "refused": "The ballot was refused: {reason}",
            "closed": "The ballot box is closed: {reason}",
            "network": "The ballot could not be sent ({reason}); try again.",
            "no_crypto": "This browser cannot encrypt here (it needs a secure https page "
            "with WebCrypto).",
            "audited_refused": "An audited ballot can never be cast.",
            "auditing": "Telling the ballot box this ballot is audited…",
            "audit_unrecorded": "The ballot box did not record the audit ({reason}): "
            "nothing was revealed.",
        },
    },
    "fr": {
        "title": "Isoloir",
        "intro": "Votre bulletin est chiffré sur cet appareil avant d'en partir : le serveur "
        "et le réseau ne voient que le bulletin chiffré. Votre code de vote ne quitte "
        "jamais cette page.",
        "noscript": "Cet isoloir chiffre votre bulletin sur votre appareil, ce qui demande "
        "JavaScript. Activez JavaScript pour cette page, ou votez en ligne de commande : "
        "imago-fed ballot.",
        "closed": "L'urne n'est pas ouverte (état : {state}).",
        "credential": "Votre code de vote",
        "credential_hint": "Les 15 caractères (XXX-XXX-XXX-XXX-XXX) reçus en privé.",
        "choices": "Votre vote",
        "choose_one": "Choisissez une option.",
        "choose_any": "Approuvez autant d'options que vous voulez (aucune est permis).",
        "grade_each": "Donnez une mention à chaque option.",
        "rank_each": "Classez les options : 1 est votre premier choix ; des rangs égaux sont "
        "des ex aequo ; les options non classées viennent après toutes les autres.",
        "unranked": "non classée",
        "grades": ["Excellent", "Très bien", "Bien", "Passable", "À rejeter"],
        "encrypt": "Chiffrer mon bulletin",
        "sealed": "Votre bulletin chiffré",
        "tracker": "Empreinte du bulletin",
        "tracker_hint": "Notez-la : après le vote, vous la retrouverez sur le tableau public.",
        "cast": "Déposer ce bulletin",
        "audit": "L'auditer plutôt (puis revoter)",
        "audit_hint": "Un audit ouvre ce bulletin chiffré pour vérifier que l'appareil a "
        "chiffré votre choix. Un bulletin audité montre votre vote : il est jeté et un "
        "nouveau est fabriqué.",
        "change": "Modifier mes choix",
        "audited": "Bulletin audité",
        "audit_data": "Le bulletin audité et son ouverture (aléas et clairs)",
        "recheck": "Pour le revérifier sur une autre machine, enregistrez le texte ci-dessus "
        "dans un fichier et lancez imago-fed ballot-audit --election {params} FICHIER, ou "
        "recalculez alpha = g^r et beta = y^r·g^m pour chaque chiffré dans le groupe de "
        "l'élection (paramètres : {params}).",
        "done": "Votre bulletin est déposé",
        "done_hint": "Retrouvez-le sur le tableau public ; l'archive permet à chacun de "
        "vérifier toute l'élection.",
        "board": "Retrouver mon bulletin",
        "archive": "Télécharger l'archive",
        "script": {
            "bad_credential": "Ce code de vote n'est pas valide : vérifiez la saisie.",
            "incomplete": "Répondez d'abord à toutes les questions.",
            "encrypting": "Chiffrement sur cet appareil…",
            "encrypted": "Chiffré en {ms} ms.",
            "casting": "Dépôt…",
            "audit_ok": "Vérification réussie : chaque chiffré contient votre choix. Ce "
            "bulletin est annulé ; un nouveau a été fabriqué ci-dessous.",
            "audit_failed": "ÉCHEC : cet appareil n'a pas chiffré votre choix ({where}). "
            "Ne votez pas sur cet appareil.",
            "unknown_credential": "Ce code de vote n'appartient pas à cette élection : le "
            "bulletin est refusé. Vérifiez que c'est le code de ce vote.",
            "refused": "Le bulletin est refusé : {reason}",
            "closed": "L'urne est fermée : {reason}",
            "network": "Le bulletin n'a pas pu être envoyé ({reason}) ; réessayez.",
            "no_crypto": "Ce navigateur ne peut pas chiffrer ici (il faut une page https "
            "sécurisée avec WebCrypto).",
            "audited_refused": "Un bulletin audité ne peut jamais être déposé.",
            "auditing": "Signalement de l'audit à l'urne…",
            "audit_unrecorded": "L'urne n'a pas enregistré l'audit ({reason}) : rien "
            "n'a été révélé.",
        },
    },
}


def pick_language(accept: object) -> str:
    """The first of LANGUAGES the browser prefers (``request.accept_languages``)."""
    best = getattr(accept, "best_match", None)
    chosen = best(LANGUAGES) if best is not None else None
    return chosen if chosen in LANGUAGES else LANGUAGES[0]
