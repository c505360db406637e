#!/usr/bin/env bash
# demo.sh - publishes the demo data into a running hub. The data tell how a Kreis and
# its towns work together on digital services: the Rhein-Kreis Neuss (AGS 05162) and
# its eight municipalities (AGS 05162004 ... 05162028) offer each other what one of
# them runs for all (a LoRaWAN network, training, apps) and share ideas that need
# partners (a county-wide 3D model as a digital twin, an open data portal, a shared
# data protection officer), modelled on their "Digitalallianz" (since 2019). Every
# item has a fixed message id, so running the script again stores nothing twice (the
# hub acknowledges each as a duplicate).
# Each item is published by its sender with the sender's own certificate, the Kreis'
# items with the Kreis' (05162), a municipality's with that municipality's: the hub
# takes the sender from the certificate. KREISHUB_CERTS names the directory of the
# pairs (AGS.cert_secret; `kreishub up` makes them in DATA/certs and says where),
# KREISHUB_SERVER_CERT the hub's certificate (default KREISHUB_CERTS/server.cert). A
# hub in plain mode (KREISHUB_PLAIN=1) has no certificates: each item names its
# sender with --from instead.
# Endpoints come from KREISHUB_ENDPOINT (as for every kreishub command); KREISHUB
# names the kreishub program (default: the build's).
set -euo pipefail
kh=${KREISHUB:-$(dirname "$0")/../build/bin/kreishub}
case ${KREISHUB_PLAIN:-} in
    1|yes|true|on) plain=1 ;;
    *) plain= ;;
esac
certs=${KREISHUB_CERTS:-}
if [ -z "$plain" ] && [ -z "$certs" ]; then
    echo "demo.sh: set KREISHUB_CERTS to the hub's certificate directory (kreishub up" \
         "says where it is), or KREISHUB_PLAIN=1 for a hub in plain mode" >&2
    exit 1
fi
if [ -z "$plain" ]; then
    export KREISHUB_SERVER_CERT=${KREISHUB_SERVER_CERT:-$certs/server.cert}
fi

# pub AGS TYPE FIELDS...: publishes as AGS, with its certificate (or --from, plain).
pub() {
    local ags=$1
    shift
    if [ -n "$plain" ]; then
        "$kh" publish "$@" --from "$ags" >/dev/null
    else
        KREISHUB_CERT=$certs/$ags.cert_secret "$kh" publish "$@" >/dev/null
    fi
}

pub 05162 idea --id 017ce42a-3800-7000-8000-000000000001 --ts 2021-11-03 \
    --title "Digitaler Zwilling: kreisweites 3D-Stadt- und Landschaftsmodell" \
    --description "Aus der Ideenwerkstatt 2021 von Kreis und Kommunen: ein gemeinsames 3D-Modell von Stadt und Landschaft als Planungsgrundlage für alle acht Kommunen. Vorgestellt in der Bürgermeisterkonferenz am 03.11.2021; der Arbeitskreis der IT-Leitungen berät im Winter 2021/22." \
    --hf 2 --topic Querschnitt --keywords "3D,Geodaten,Planung,Digitaler Zwilling" \
    --lead 05162 --maturity concept --contact "Rhein-Kreis Neuss, Stabsstelle Digitalisierung"

pub 05162 offer --id 017ce42a-3800-7000-8000-000000000002 --ts 2021-09-29 \
    --title "Fortbildungsprogramm Digitalisierung für Beschäftigte der Kommunen" \
    --description "Gemeinsam organisiert, für die Beschäftigten der kreisangehörigen Kommunen kostenfrei; Kurse werden über das Jahr angekuendigt. Finanziert mit 100.000 EUR pro Jahr aus dem Kreishaushalt." \
    --hf 1 --topic Querschnitt --keywords "Fortbildung,Kompetenzen" --maturity stable \
    --cost "kostenfrei für kommunale Beschäftigte"

pub 05162 offer --id 017ce42a-3800-7000-8000-000000000003 --ts 2021-09-29 \
    --title "LoRaWAN-Netz des Kreises für kommunale Sensoren" \
    --description "Der Kreis öffnet sein LoRaWAN-Funknetz für die Kommunen, z. B. für Pegel-, Parkplatz- oder Umweltsensoren." \
    --hf 3 --topic Querschnitt --keywords "IoT,LoRaWAN,Sensoren" --maturity stable --cost kostenfrei

pub 05162 offer --id 017ce42a-3800-7000-8000-000000000004 --ts 2021-09-29 \
    --title "Apps des Kreises für andere Behörden: Straßenverkehrsamt-App, Heimfinder" \
    --description "Der Kreis gibt seine eigenen Apps anderen Behörden kostenfrei weiter." \
    --hf 2 --keywords "App,Nachnutzung" --maturity stable --cost kostenfrei

pub 05162 idea --id 017ce42a-3800-7000-8000-000000000005 --ts 2021-06-15 \
    --title "Digitaler Workflow für Parkausweise für Menschen mit Behinderung" \
    --description "Ergebnis der Ideenwerkstatt 2021: Antrag, Prüfung und Ausstellung des Parkausweises durchgängig digital." \
    --hf 2 --topic "Gesundheit" --keywords "OZG,Antrag,Parkausweis" --maturity concept

pub 05162 idea --id 017ce42a-3800-7000-8000-000000000006 --ts 2021-06-15 \
    --title "Gemeinsames Open-Data-Portal von Kreis und Kommunen" \
    --hf 2 --topic Querschnitt --keywords "Open Data" --maturity concept \
    --participants 05162004,05162008,05162012,05162016,05162020,05162022,05162024,05162028

pub 05162 idea --id 017ce42a-3800-7000-8000-000000000007 --ts 2021-06-15 \
    --title "Gemeinsame Prozess- und Wissensdatenbank" \
    --hf 1 --topic Querschnitt --keywords "Prozesse,Wissensmanagement" --maturity concept

pub 05162020 idea --id 017ce42a-3800-7000-8000-000000000008 --ts 2022-05-10 \
    --title "Gesucht: Partner für einen gemeinsamen Datenschutzbeauftragten" \
    --description "Korschenbroich sucht Kommunen, die sich einen Datenschutzbeauftragten teilen wollen." \
    --hf 4 --topic Querschnitt --keywords "Datenschutz,DSB,Kooperation" --lead 05162020

pub 05162012 idea --id 017ce42a-3800-7000-8000-000000000009 --ts 2019-11-20 \
    --title "Pilot: Fahrzeug-Ummeldung in den Bürgerbüros der Kommunen" \
    --description "Pilot der Digitalallianz in Jüchen und Rommerskirchen: Ummeldung von Fahrzeugen direkt im Bürgerbüro statt im Straßenverkehrsamt." \
    --hf 2 --topic "Mobilität und Reisen" --keywords "Kfz,Bürgerbüro,Pilot" \
    --lead 05162012 --participants 05162012,05162028 --maturity beta

pub 05162 idea --id 017ce42a-3800-7000-8000-00000000000a --ts 2019-11-20 \
    --title "Digitalisierung der Baulastenakten" \
    --description "Eines der ersten gemeinsamen Projekte der Digitalallianz von Landrat und allen acht Bürgermeistern (2019)." \
    --hf 2 --topic "Bauen und Wohnen" --keywords "Baulasten,Akten,Digitalisierung" --maturity development

echo "demo: 10 items published (or already there)"
